"""A fake OpenAI-compatible server on loopback, for tests and the `hardno try` sandbox.

    with FakeOpenAI() as fake:
        client = openai.OpenAI(api_key="sk-test", base_url=fake.base_url)
        ...
        fake.requests[-1]["model"]

It serves `POST /v1/chat/completions` (and `GET /v1/models`) with the shapes the
real API returns, records every request body, and can be told to misbehave:
`fail(500)`, `fail(429, times=3)`, `delay(2.0)`, `refuse()`, `garbage()`, or to
answer with your own content via `reply(fn)`. Nothing here touches the network
beyond 127.0.0.1.

A request with `"stream": true` is answered the way the real API streams: server-sent events,
one `chat.completion.chunk` per `data:` line (the role first, then the content a few characters at a
time, then `finish_reason`), ending with `data: [DONE]`. `stream_delay(s)` waits between chunks and
`cut(after=n)` drops the connection after `n` content chunks (a stream that breaks half-way).

Without `reply(fn)`, a request that looks like one of hardno's coach prompts gets
a JSON draft built from the deal data in that prompt (so the LLM path produces a
usable draft); any other request with a JSON schema gets an object with each
required field filled; plain requests get a short plain-text answer.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ReplyFn = Callable[[dict], str]

_ERRORS = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "server_error"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
}
REFUSAL = "I'm sorry, but I can't help with that request."
GARBAGE = 'Sure! Here is your draft: {"text": "Hi there, this is not valid JSON'


class _Mode:
    """A behaviour that applies to the next `times` requests (None: until reset)."""

    def __init__(self, value: Any, times: int | None):
        self.value, self.remaining = value, times

    def take(self) -> Any:
        if self.remaining is not None:
            self.remaining -= 1
        return self.value

    @property
    def active(self) -> bool:
        return self.remaining is None or self.remaining > 0


class FakeOpenAI:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[dict] = []  # every request body, in arrival order
        self.calls: list[dict] = []  # method, path, headers and body of every request
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeOpenAI:
        if self._server is not None:
            return self
        fake = self

        class Handler(_Handler):
            owner = fake

        self._stopping.clear()
        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wake any delayed handler
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running: call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    # ------------------------------------------------------------------ behaviour

    def reset(self) -> None:
        """Back to well-behaved default replies (recorded requests are kept)."""
        with self._lock:
            self._reply: ReplyFn | None = None
            self._fails: list[_Mode] = []
            self._delay: _Mode | None = None
            self._refuse: _Mode | None = None
            self._garbage: _Mode | None = None
            self._chunk_delay = 0.0
            self._cut: _Mode | None = None

    def stream_delay(self, seconds: float) -> None:
        """Wait `seconds` between the chunks of a streamed answer (until reset)."""
        with self._lock:
            self._chunk_delay = max(0.0, seconds)

    def cut(self, after: int = 2, times: int | None = 1) -> None:
        """Streamed answers (the next `times`) stop after `after` content chunks: the connection drops."""
        with self._lock:
            self._cut = _Mode(after, times)

    def _stream_plan(self) -> tuple[float, int | None]:
        with self._lock:
            cut = self._cut.take() if self._cut and self._cut.active else None
            return self._chunk_delay, cut

    def reply(self, fn: ReplyFn | None) -> None:
        """Answer with `fn(request_json)` as the message content (None: the default reply)."""
        with self._lock:
            self._reply = fn

    def fail(self, status: int = 500, times: int = 1, retry_after_ms: int | None = 10) -> None:
        """The next `times` requests get an HTTP error `status` (with an OpenAI-style error body)."""
        with self._lock:
            self._fails.append(_Mode((status, retry_after_ms), times))

    def delay(self, seconds: float, times: int | None = None) -> None:
        """Wait `seconds` before answering (the next `times` requests; None: all)."""
        with self._lock:
            self._delay = _Mode(seconds, times) if seconds > 0 else None

    def refuse(self, message: str = REFUSAL, times: int | None = None) -> None:
        """Answer with `message.refusal` set and no content."""
        with self._lock:
            self._refuse = _Mode(message, times)

    def garbage(self, content: str = GARBAGE, times: int | None = None) -> None:
        """Answer with content that is not valid JSON."""
        with self._lock:
            self._garbage = _Mode(content, times)

    def clear(self) -> None:
        """Forget recorded requests."""
        with self._lock:
            self.requests.clear()
            self.calls.clear()

    # ------------------------------------------------------------------ serving

    def _record(self, method: str, path: str, headers: dict, body: dict) -> None:
        with self._lock:
            self.requests.append(body)
            self.calls.append({"method": method, "path": path, "headers": headers, "body": body})

    def _next_behaviour(self) -> tuple[float, tuple[int, int | None] | None, str | None, str | None,
                                       ReplyFn | None]:
        """(delay, failure, refusal, garbage, reply fn) for one request, consuming one use of each."""
        with self._lock:
            delay = self._delay.take() if self._delay and self._delay.active else 0.0
            failure = None
            for mode in self._fails:
                if mode.active:
                    failure = mode.take()
                    break
            self._fails = [m for m in self._fails if m.active]
            refusal = self._refuse.take() if self._refuse and self._refuse.active else None
            garbage = self._garbage.take() if refusal is None and self._garbage and self._garbage.active else None
            return delay, failure, refusal, garbage, self._reply

    def _completion(self, req: dict) -> tuple[int, dict, dict]:
        delay, failure, refusal, garbage, fn = self._next_behaviour()
        if delay and self._stopping.wait(delay):
            return 503, _error(503, "server stopping"), {}
        if failure is not None:
            status, retry_ms = failure
            headers = {"retry-after-ms": str(retry_ms)} if retry_ms is not None else {}
            msg = "Rate limit reached for requests" if status == 429 else "The server had an error"
            return status, _error(status, msg), headers
        if not isinstance(req.get("messages"), list) or not req.get("model"):
            return 400, _error(400, "'model' and 'messages' are required"), {}
        content: str | None
        if refusal is not None:
            content = None
        elif garbage is not None:
            content = garbage
        elif fn is not None:
            content = fn(req)
        else:
            content = default_content(req)
        n = next(self._ids)
        prompt_tokens = sum(_tokens(m.get("content")) for m in req["messages"] if isinstance(m, dict))
        completion_tokens = _tokens(content or refusal)
        body = {
            "id": f"chatcmpl-fake{n:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req["model"],
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
            "service_tier": "default",
            "system_fingerprint": "fp_fakeopenai",
        }
        if req.get("stream"):
            return 200, {"__stream__": _chunks(body, content, refusal)}, {}
        return 200, body, {}


STREAM_PIECE = 12  # characters of content per streamed chunk


def _chunks(body: dict, content: str | None, refusal: str | None) -> list[dict]:
    """The completion `body` as the chunks the real API streams for it."""
    head = {k: body[k] for k in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    out = [chunk({"role": "assistant", "content": "", "refusal": None})]
    field, text = ("refusal", refusal) if refusal is not None else ("content", content or "")
    out += [chunk({field: text[i:i + STREAM_PIECE]}) for i in range(0, len(text), STREAM_PIECE)]
    out.append(chunk({}, "stop"))
    return out


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAI
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        # One small response in two writes (headers, body) would otherwise wait ~40 ms
        # for a delayed ACK (Nagle); loopback tests should not pay that per request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", f"req_fake_{id(body):x}")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up (e.g. its timeout)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
            return body if isinstance(body, dict) else {"_json": body}
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        path = self.path.split("?", 1)[0].rstrip("/")
        self.owner._record("POST", path, dict(self.headers.items()), body)
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._send(404, _error(404, f"Unknown path {path}"))
            return
        if "_raw" in body or "_json" in body:
            self._send(400, _error(400, "We could not parse the JSON body of your request."))
            return
        status, answer, headers = self.owner._completion(body)
        if status == 200 and "__stream__" in answer:
            self._stream(answer["__stream__"])
        else:
            self._send(status, answer, headers)

    def _stream(self, chunks: list[dict]) -> None:
        """Server-sent events, written as they are made; the end of the body is the end of the stream."""
        delay, cut = self.owner._stream_plan()
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.send_header("x-request-id", f"req_fake_{id(chunks):x}")
            self.end_headers()
            for i, c in enumerate(chunks):
                if cut is not None and i > cut:
                    return  # dropped mid-stream: no finish_reason, no [DONE]
                if i and delay and self.owner._stopping.wait(delay):
                    return
                self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            models = ["gpt-4o-mini", "gpt-5-mini"]
            self._send(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fakeopenai"} for m in models]})
        else:
            self._send(404, _error(404, f"Unknown path {path}"))


def _error(status: int, message: str) -> dict:
    etype, code = _ERRORS.get(status, ("server_error", None))
    return {"error": {"message": message, "type": etype, "param": None, "code": code}}


def _tokens(content: Any) -> int:
    if isinstance(content, list):
        content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return max(1, len(str(content or "").split()) * 4 // 3) if content else 0


# ---------------------------------------------------------------------- default replies


def _user_text(req: dict) -> str:
    for m in reversed(req.get("messages") or []):
        if isinstance(m, dict) and m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, list):
                return "\n".join(str(p.get("text", "")) for p in c if isinstance(p, dict))
            return str(c or "")
    return ""


def _field(text: str, label: str) -> str:
    m = re.search(rf"^{re.escape(label)}\s*(.*)$", text, re.MULTILINE)
    return m.group(1).strip() if m else ""


def default_content(req: dict) -> str:
    """A reasonable reply for `req`: a hardno draft, a schema-shaped object, or plain text."""
    fmt = req.get("response_format") or {}
    prompt = _user_text(req)
    kind = _field(prompt, "Draft kind:")
    if kind:
        return json.dumps(_hardno_draft(prompt, kind), ensure_ascii=False)
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        return json.dumps(_from_schema(schema, schema.get("$defs") or {}))
    if fmt.get("type") == "json_object":
        return json.dumps({"reply": "This is a reply from FakeOpenAI."})
    return "This is a reply from FakeOpenAI."


def _from_schema(schema: dict, defs: dict | None = None) -> Any:
    """A value the schema accepts: its first enum value, the first of anyOf, $refs followed."""
    defs = defs or {}
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return _from_schema(defs.get(ref.rsplit("/", 1)[1], {}), defs)
    if schema.get("enum"):
        return schema["enum"][0]
    t = schema.get("type")
    if "anyOf" in schema:
        return _from_schema(schema["anyOf"][0], defs)
    if t == "object":
        props = schema.get("properties") or {}
        return {k: _from_schema(v, defs) for k, v in props.items()}
    if t == "array":
        return []
    if t in ("integer", "number"):
        return 0
    if t == "boolean":
        return False
    if t == "null":
        return None
    return "fake"


def _hardno_draft(prompt: str, kind: str) -> dict:
    """A playbook-shaped draft from the deal data in one of hardno's coach prompts."""
    company = _field(prompt, "Company:") or "your team"
    contact = _field(prompt, "Contact:")
    contact = "" if contact.startswith("(") else contact.split(" ")[0]
    rep = _field(prompt, "Rep first name (sign off with it):")
    rep = "" if rep.startswith("(") else rep
    greet = f"Hi {contact}," if contact else "Hi there,"
    if kind == "meeting":
        slots = _field(prompt, "- Offer exactly these two time options, written exactly as given:")
        booked = _field(prompt, "- Already booked: a call on").split(" is already in the calendar")[0]
        body = ((f"Our call on {booked} is in the calendar; this is for the one after it. " if booked else "")
                + f"I'd like 30 minutes to agree the next step for {company}. "
                f"Would {slots} work? Please bring anyone else who weighs in on the decision.")
        why = "A purpose, two concrete times and the right people keep the deal from drifting."
    elif kind == "breakup":
        tries = (_field(prompt, "Write a last-try message. The rep has reached out").split(" since ")[0]
                 or "a few times")
        body = (f"I've reached out {tries} about {company} and don't want to keep bothering you. "
                "If it's not a priority, a no is completely fine and I'll close it out; otherwise "
                "I'll assume you're busy. Should I keep it open?")
        why = "A gracious last try leaves the decision with them and usually gets an answer."
    elif kind == "objection":
        body = (f"Thanks for being straight with me about {company}. The real question is whether "
                "anything is missing today. Would a 20-minute look be useful? If not, a clear no is "
                "completely fine.")
        why = "Names the real question behind the brush-off and asks for a next step or a clear no."
    else:
        body = (f"I'd like to settle whether {company} wants to go ahead. If yes, I'll send the next "
                "steps; if not, a clear no is completely fine. Shall we go ahead?")
        why = "A direct ask that makes a no welcome ends the maybe."
    text = f"{greet}\n\n{body}" + (f"\n\n{rep}" if rep else "")
    needs_subject = _field(prompt, "Email subject:").startswith("needed")
    return {"text": text, "subject": f"Next step for {company}" if needs_subject else None, "why": why}
