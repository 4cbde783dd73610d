"""A fake Slack Web API on loopback: the stand-in Slack of the `hardno try` sandbox (and the base of the
tests' fake, `tests/fakeslack.py`, which adds rate limits and failure injection).

The real ``slack_sdk.WebClient(base_url=fake.api_url)`` talks to it over HTTP, so everything between the
bot and the wire (argument encoding, retries, error handling) is exercised for real.

What it does:

* answers ``POST``/``GET /api/<method>`` (form-encoded, JSON or multipart bodies; query params) with
  response shapes modelled on Slack's documentation, from a small workspace directory you configure
  with :meth:`FakeSlack.add_user` and :meth:`FakeSlack.add_channel`;
* records every call (:class:`Call`) and lets tests wait for calls made from other threads
  (:meth:`FakeSlack.wait_for`), and calls :attr:`FakeSlack.on_call` for each one;
* serves ``response_url`` endpoints (:meth:`FakeSlack.response_url`) and the external file upload URL;
* answers a failure or a rate limit when :meth:`FakeSlack._take_failure` / :meth:`FakeSlack._over_limit`
  say so (never, here: the tests' subclass injects 429 + ``Retry-After``, 5xx, ``ok: false`` or a dropped
  connection on demand);
* keeps the messages posted per channel and answers ``conversations.history`` with them (newest first,
  ``metadata`` with ``include_all_metadata``), so a bot can look for a post it is unsure about;
* streams replies (``chat.startStream`` / ``appendStream`` / ``stopStream``) and keeps assistant threads'
  suggested prompts and statuses (``bot.sandbox.fakeassistant``);
* validates every Block Kit payload it receives (slack_sdk's own model validators plus the documented
  limits slack_sdk does not check), collects the problems in :attr:`FakeSlack.block_errors` and answers
  the way Slack does (``invalid_blocks`` for messages, ``invalid_arguments`` for views).

Long (~1,250 lines) for one job: it answers about 30 Web API methods (a table in `FakeSlack`), each a
short handler sharing one workspace state (users, channels, messages, files, views, streams); Block Kit validation is
`bot/sandbox/blockkit.py`, the assistant and streaming methods `bot/sandbox/fakeassistant.py`.
Standard library and slack_sdk only.
"""

from __future__ import annotations

import base64
import email.policy
import itertools
import json
import logging
import mimetypes
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from bot.sandbox.blockkit import at_pointer, validate_blocks, validate_message, validate_view
from bot.sandbox.fakeassistant import AssistantMethods

__all__ = ["Call", "FakeSlack", "validate_blocks", "validate_message", "validate_view"]

log = logging.getLogger(__name__)


DEFAULT_PAGE_SIZE = 100  # Slack's default `limit` for cursor-paginated conversations.* / users.conversations
MAX_PAGE_SIZE = 1000  # Slack: "specify a limit value under 1000"

# Web API arguments that slack_sdk (or a hand-rolled client) sends form-encoded as JSON strings.
_JSON_STRING_FIELDS = ("blocks", "attachments", "view", "files", "metadata")

_BOT_SCOPES = (
    "chat:write,commands,users:read,channels:read,channels:history,groups:read,groups:history,im:read,"
    "im:history,im:write,mpim:read,files:write"
)


# ------------------------------------------------------------------------------------------------------------
# Recorded calls
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # eq=False: hashable by identity despite the dict fields
class Call:
    """One request the fake received.

    ``method`` is the Web API method (``"chat.postMessage"``), or ``"response_url"`` for a POST to a
    :meth:`FakeSlack.response_url`, or ``"file_upload"`` for the bytes POSTed to an upload URL.
    ``params`` merges the query string and the body (JSON-string fields such as ``blocks`` decoded back into
    objects; form-encoded values stay strings, so booleans arrive as ``"1"``/``"0"``).
    ``headers`` has lower-cased names. ``status``/``response`` are what the fake answered; ``injected`` is
    True when that answer came from :meth:`FakeSlack.fail`.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float
    status: int = 200
    response: Any = None
    injected: bool = False

    @property
    def ok(self) -> bool:
        """Whether Slack would count this as a success (HTTP 200 and ``ok: true``)."""
        if self.status != 200:
            return False
        return bool(self.response.get("ok")) if isinstance(self.response, dict) else True

    @property
    def error(self) -> str | None:
        """The error answered (``"ratelimited"``, ``"invalid_blocks"``, ...), or None on success."""
        if isinstance(self.response, dict):
            return None if self.ok else self.response.get("error")
        return None if self.ok else str(self.response)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass
class _Answer:
    status: int  # 0: drop the connection without answering
    body: Any  # dict -> JSON, str -> text/plain
    headers: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    """Raised by a method handler: answer HTTP 200 with ok=false."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error = error
        self.extra = extra


def _ok(**fields: Any) -> _Answer:
    return _Answer(200, {"ok": True, **fields})


def _err(error: str, **extra: Any) -> _Answer:
    return _Answer(200, {"ok": False, "error": error, **extra})


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int | None
    remaining: int | None  # None: every call until reset()
    after: bool = False  # run the method first (its effect happens), then answer the failure
    drop: bool = False  # close the connection without any answer

    def answer(self, json_body: bool) -> _Answer:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        body: Any = {"ok": False, "error": self.error} if json_body else self.error
        return _Answer(self.status, body, headers)


@dataclass
class _Channel:
    id: str
    name: str
    members: list[str]
    bot_is_member: bool = True
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None  # the other party of an IM
    created: int = field(default_factory=lambda: int(time.time()))


# ------------------------------------------------------------------------------------------------------------
# Time zones: Slack's users.info carries tz (IANA), tz_label (long name) and tz_offset (seconds, current)
# ------------------------------------------------------------------------------------------------------------
_TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "AKST": "Alaska Standard Time",
    "AKDT": "Alaska Daylight Time",
    "HST": "Hawaii-Aleutian Standard Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "MSK": "Moscow Time",
    "IST": "India Standard Time",
    "PKT": "Pakistan Standard Time",
    "JST": "Japan Standard Time",
    "KST": "Korea Standard Time",
    "HKT": "Hong Kong Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
    "ACST": "Australian Central Standard Time",
    "ACDT": "Australian Central Daylight Time",
    "AWST": "Australian Western Standard Time",
    "NZST": "New Zealand Standard Time",
    "NZDT": "New Zealand Daylight Time",
    "SAST": "South Africa Standard Time",
    "WAT": "West Africa Time",
    "EAT": "East Africa Time",
}
_TZ_LABEL_OVERRIDES = {
    ("Europe/Dublin", "IST"): "Irish Standard Time",
    ("Asia/Jerusalem", "IST"): "Israel Standard Time",
    ("Asia/Jerusalem", "IDT"): "Israel Daylight Time",
}


def _tz_fields(tz: str) -> dict[str, Any]:
    now = datetime.now(ZoneInfo(tz))
    offset = int(now.utcoffset().total_seconds())  # type: ignore[union-attr]
    abbr = now.tzname() or ""
    label = _TZ_LABEL_OVERRIDES.get((tz, abbr)) or _TZ_LABELS.get(abbr)
    if label is None:
        sign, minutes = ("+" if offset >= 0 else "-"), abs(offset) // 60
        label = f"GMT{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return {"tz": tz, "tz_label": label, "tz_offset": offset}


# ------------------------------------------------------------------------------------------------------------
# Request parsing helpers
# ------------------------------------------------------------------------------------------------------------
class _BadBody(Exception):
    pass


def _parse_body(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    ctype = headers.get("content-type", "")
    mime = ctype.split(";")[0].strip().lower()
    if mime == "application/json":
        try:
            obj = json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise _BadBody(str(e)) from e
        if not isinstance(obj, dict):
            raise _BadBody("JSON body is not an object")
        return obj
    if mime == "multipart/form-data":
        msg = BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
        )
        params: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True)
            payload = payload if isinstance(payload, bytes) else b""
            params[str(name)] = payload if part.get_filename() else payload.decode("utf-8", "replace")
        return params
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_STRING_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except ValueError:
                pass  # left as a string: the method handler reports it as malformed
    return params


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _paginate(
    items: list, params: dict[str, Any], *, default_limit: int = DEFAULT_PAGE_SIZE
) -> tuple[list, dict]:
    limit = _int(params.get("limit"), 0)
    limit = default_limit if limit <= 0 else min(limit, MAX_PAGE_SIZE)
    start = 0
    cursor = params.get("cursor") or ""
    if cursor:
        try:
            start = int(base64.b64decode(cursor, validate=True).decode().removeprefix("offset:"))
        except ValueError as e:
            raise _ApiError("invalid_cursor") from e
        if start < 0 or start > len(items):
            raise _ApiError("invalid_cursor")
    end = start + limit
    return items[start:end], {"next_cursor": _encode_cursor(end) if end < len(items) else ""}


# ------------------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    fake: FakeSlack

    def handle_error(self, request, client_address) -> None:  # a client hung up mid-request: stay quiet
        self.fake.server_errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSlack/1.0"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: no request log on stderr
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = fake._handle(self.command, self.path, headers, body)
        except Exception:
            fake.server_errors.append(traceback.format_exc())
            answer = _Answer(500, {"ok": False, "error": "fake_slack_internal_error"})
        if answer.status == 0:  # an injected dropped connection: the client sees it close unanswered
            self.close_connection = True
            return
        if isinstance(answer.body, (dict, list)):
            payload, ctype = json.dumps(answer.body).encode(), "application/json; charset=utf-8"
        else:
            payload, ctype = str(answer.body).encode(), "text/plain; charset=utf-8"
        self.send_response(answer.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class FakeSlack(AssistantMethods):
    """A fake Slack Web API server on ``127.0.0.1`` (a free port), for ``WebClient(base_url=fake.api_url)``.

    Use as a context manager (``with FakeSlack() as fake:``) or call :meth:`start` / :meth:`stop`.
    The default workspace is team ``T1`` "Acme Sales" with the bot user ``UBOT`` (bot id ``B1``); add people
    and channels with :meth:`add_user` / :meth:`add_channel`.

    Leniencies worth knowing: posting to a channel id the directory doesn't know works (answers as if it
    existed); posting to a known channel the bot isn't in answers ``not_in_channel``. ``chat.update`` /
    ``chat.delete`` / ``views.update`` accept any ts / view id. Users, on the other hand, must be known.
    """

    def __init__(
        self,
        *,
        team_id: str = "T1",
        team_name: str = "Acme Sales",
        team_domain: str = "acme",
        bot_user_id: str = "UBOT",
        bot_id: str = "B1",
        bot_name: str = "hardno",
        app_id: str = "A1",
    ):
        self.team_id, self.team_name, self.team_domain = team_id, team_name, team_domain
        self.bot_user_id, self.bot_id, self.bot_name, self.app_id = bot_user_id, bot_id, bot_name, app_id

        self.calls: list[Call] = []
        self.block_errors: list[str] = []
        self.uploaded_files: dict[str, bytes] = {}
        self.views: dict[str, dict] = {}
        self.server_errors: list[str] = []  # tracebacks of the fake's own failures (answered 500)
        self.on_call: Callable[[Call], None] | None = None

        self.users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, _Channel] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel id -> posted messages, oldest first
        self._cond = threading.Condition(threading.RLock())
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        self._response_tokens = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        self.add_user(bot_user_id, bot_name, real_name=bot_name, tz="America/Los_Angeles", is_bot=True)

        self._methods: dict[str, Callable[[dict[str, Any]], _Answer]] = {
            "api.test": lambda p: _ok(args=p),
            "auth.test": self._auth_test,
            "bots.info": self._bots_info,
            "team.info": self._team_info,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "users.conversations": self._users_conversations,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.join": self._conversations_join,
            "chat.postMessage": self._chat_post_message,
            "conversations.history": self._conversations_history,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.scheduleMessage": self._chat_schedule_message,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": lambda p: self._views("views.open", p),
            "views.push": lambda p: self._views("views.push", p),
            "views.update": lambda p: self._views("views.update", p),
            "views.publish": lambda p: self._views("views.publish", p),
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self._init_assistant()  # chat.*Stream and assistant.threads.* (bot/sandbox/fakeassistant.py)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeSlack:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/`` (only once started)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: pass as ``WebClient(base_url=...)`` / the SLACK_API_URL setting."""
        return self.base_url + "api/"

    # -- the workspace directory ----------------------------------------------------------------------------
    def add_user(
        self,
        id: str,
        name: str,
        *,
        real_name: str | None = None,
        display_name: str | None = None,
        tz: str | None = "America/New_York",
        team_id: str | None = None,
        is_bot: bool = False,
        email: str | None = None,
        deleted: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """Add (or replace) a user; ``extra`` fields are merged into the users.info ``user`` object."""
        if tz is not None:
            ZoneInfo(tz)  # fail here on a bad zone name, not in the middle of a request
        real_name = real_name if real_name is not None else name
        first, _, last = real_name.partition(" ")
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name if display_name is not None else name,
            "display_name_normalized": display_name if display_name is not None else name,
            "first_name": first,
            "last_name": last,
            "title": "",
            "phone": "",
            "skype": "",
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": "g" + id.lower(),
            "image_72": f"https://avatars.example/{id}_72.png",
            "team": team_id or self.team_id,
        }
        if email is not None:
            profile["email"] = email
        if is_bot:
            profile.update(
                {
                    "bot_id": self.bot_id if id == self.bot_user_id else f"B{id}",
                    "api_app_id": self.app_id,
                    "always_active": True,
                }
            )
        user = {
            "id": id,
            "team_id": team_id or self.team_id,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": tz,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
            "is_email_confirmed": not is_bot,
            "who_can_share_contact_card": "EVERYONE",
            **extra,
        }
        with self._cond:
            self.users[id] = user
        return user

    def add_channel(
        self,
        id: str,
        name: str,
        members: Iterable[str] = (),
        *,
        bot_is_member: bool = True,
        is_private: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a channel. When ``bot_is_member``, the bot user is listed among its members too,
        as Slack does."""
        with self._cond:
            ch = _Channel(
                id=id,
                name=name.lstrip("#"),
                members=list(dict.fromkeys(members)),
                bot_is_member=bot_is_member,
                is_private=is_private,
            )
            self._channels[id] = ch
            return self._channel_obj(ch)

    def dm_channel_id(self, user_id: str) -> str:
        """The id conversations.open answers for a DM with ``user_id`` (``"D" + user_id``)."""
        return "D" + user_id

    # -- recorded calls -------------------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def last(self, method: str | None = None) -> Call | None:
        with self._cond:
            for call in reversed(self.calls):
                if method is None or call.method == method:
                    return call
        return None

    def wait_for(self, method: str, count: int = 1, timeout: float = 5) -> list[Call]:
        """Block until at least ``count`` calls to ``method`` have been recorded; return all calls to it.
        Raises AssertionError (listing what was recorded) on timeout."""
        with self._cond:
            done = self._cond.wait_for(lambda: sum(c.method == method for c in self.calls) >= count, timeout)
            calls = [c for c in self.calls if c.method == method]
            if not done:
                seen = ", ".join(c.method for c in self.calls) or "nothing"
                raise AssertionError(
                    f"waited {timeout}s for {count} call(s) to {method}, got {len(calls)}; recorded: {seen}"
                )
            return calls

    def reset(self) -> None:
        """Forget recorded calls, block errors and pending failures.

        The directory (users, channels), uploaded files and views stay."""
        with self._cond:
            self.calls.clear()
            self.block_errors.clear()
            self.messages.clear()
            self.server_errors.clear()
            self._reset_assistant()

    def assert_no_block_errors(self) -> None:
        with self._cond:
            errors = list(self.block_errors)
        if errors:
            raise AssertionError(
                f"{len(errors)} Block Kit problem(s) reached the fake Slack:\n  " + "\n  ".join(errors)
            )

    # -- response_url ---------------------------------------------------------------------------------------
    def response_url(self, name: str | None = None) -> str:
        """A response_url on this server; POSTs to it are recorded as method ``"response_url"`` with the JSON
        body as params plus ``params["token"] == name``."""
        token = name if name is not None else f"r{next(self._response_tokens)}"
        return f"{self.base_url}response/{quote(token, safe='')}"

    # -- failure injection and rate limits (the tests' subclass overrides these) ----------------------------
    def _take_failure(self, method: str) -> _Failure | None:
        """The failure to answer this call to ``method`` with, if any (called with ``_cond`` held)."""
        return None

    def _over_limit(self, method: str, params: dict[str, Any]) -> bool:
        """Whether this call to ``method`` is beyond a rate limit (answered 429)."""
        return False

    # -- request handling -----------------------------------------------------------------------------------
    def _handle(self, http_method: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Answer:
        url = urlsplit(raw_path)
        path = url.path
        if path.startswith("/api/"):
            method = unquote(path[len("/api/") :])
            params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
            bad_body = None
            try:
                params.update(_parse_body(headers, body))
            except _BadBody as e:
                bad_body = str(e)
                params["_raw_body"] = body.decode("utf-8", "replace")
            return self._api_call(method, _decode_json_fields(params), headers, bad_body)
        if http_method == "POST" and path.startswith("/response/"):
            return self._response_url_post(unquote(path[len("/response/") :]), headers, body)
        if http_method == "POST" and path.startswith("/upload/"):
            return self._file_upload(unquote(path[len("/upload/") :]), headers, body)
        self.server_errors.append(
            f"404 for {http_method} {raw_path} (is the client's base_url {self.api_url}?)"
        )
        return _Answer(404, "not_found")

    def _record(
        self, method: str, params: dict[str, Any], headers: dict[str, str], answer: _Answer, injected: bool
    ) -> None:
        call = Call(
            method=method,
            params=params,
            headers=headers,
            time=time.time(),
            status=answer.status,
            response=answer.body,
            injected=injected,
        )
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        observer = self.on_call
        if observer is not None:
            try:
                observer(call)
            except Exception:
                log.exception("FakeSlack.on_call observer failed for %s", method)

    def _api_call(
        self, method: str, params: dict[str, Any], headers: dict[str, str], bad_body: str | None
    ) -> _Answer:
        injected = False
        with self._cond:
            failure = self._take_failure(method)
            if failure is not None and not failure.after:
                answer, injected = failure.answer(json_body=True), True
            elif self._over_limit(method, params):
                answer = _Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
            elif bad_body is not None:
                answer = _err("invalid_json", detail=bad_body)
            elif (auth := self._auth_error(headers, params)) is not None:
                answer = _err(auth)
            elif (handler := self._methods.get(method)) is None:
                answer = _err("unknown_method", req_method=method)
            else:
                try:
                    answer = handler(params)
                except _ApiError as e:
                    answer = _err(e.error, **e.extra)
                if failure is not None:  # after=True: the method had its effect; the answer is lost
                    answer, injected = failure.answer(json_body=True), True
        self._record(method, params, headers, answer, injected)
        return answer

    @staticmethod
    def _auth_error(headers: dict[str, str], params: dict[str, Any]) -> str | None:
        auth = headers.get("authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else params.get("token")
        if not token:
            return "not_authed"
        if not str(token).startswith("xox"):
            return "invalid_auth"
        return None

    def _response_url_post(self, token: str, headers: dict[str, str], body: bytes) -> _Answer:
        try:
            params = json.loads(body.decode("utf-8")) if body else {}
            if not isinstance(params, dict):
                raise ValueError("not an object")
            params = _decode_json_fields(params)
        except ValueError:
            params = {"_raw_body": body.decode("utf-8", "replace")}
        params["token"] = token
        injected = False
        with self._cond:
            failure = self._take_failure("response_url")
            if failure is not None:
                answer, injected = failure.answer(json_body=False), True
            elif "_raw_body" in params:
                answer = _Answer(400, "invalid_payload")
            else:
                problems = self._message_problems("response_url", params)
                # Slack's webhook-style endpoints answer errors as HTTP 400 with the code as plain text.
                answer = _Answer(400, problems.body["error"]) if problems else _Answer(200, {"ok": True})
        self._record("response_url", params, headers, answer, injected)
        return answer

    def _file_upload(self, file_id: str, headers: dict[str, str], body: bytes) -> _Answer:
        data = body
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            parts = _parse_body(headers, body)
            files = [v for v in parts.values() if isinstance(v, bytes)]
            data = files[0] if files else b""
        params = {"file_id": file_id, "size": len(data), "content_type": headers.get("content-type", "")}
        injected = False
        with self._cond:
            failure = self._take_failure("file_upload")
            if failure is not None:
                answer, injected = failure.answer(json_body=False), True
            elif file_id not in self._files:
                answer = _Answer(404, "file_not_found")
            else:
                self.uploaded_files[file_id] = data
                answer = _Answer(200, f"OK - {len(data)}")
        self._record("file_upload", params, headers, answer, injected)
        return answer

    # -- helpers for method handlers (called with the lock held) --------------------------------------------
    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _next_ts(self) -> str:
        now_us = time.time_ns() // 1000
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _user(self, user_id: Any) -> dict[str, Any]:
        user = self.users.get(str(user_id)) if user_id else None
        if user is None:
            raise _ApiError("user_not_found")
        return user

    def _dm(self, user_id: str) -> _Channel:
        cid = self.dm_channel_id(user_id)
        ch = self._channels.get(cid)
        if ch is None:
            ch = _Channel(id=cid, name=cid, members=[user_id], is_im=True, user=user_id)
            self._channels[cid] = ch
        return ch

    def _resolve_channel(self, ref: Any) -> _Channel | None:
        ref = str(ref or "")
        if ref in self._channels:
            return self._channels[ref]
        if ref in self.users:  # posting to a user id posts in the DM with them
            return self._dm(ref)
        if ref.startswith("D") and ref[1:] in self.users:
            return self._dm(ref[1:])
        name = ref.lstrip("#")
        for ch in self._channels.values():
            if not ch.is_im and ch.name == name:
                return ch
        return None

    def _member_ids(self, ch: _Channel) -> list[str]:
        members = list(ch.members)
        if ch.bot_is_member and self.bot_user_id not in members:
            members.append(self.bot_user_id)
        return members

    def _channel_obj(self, ch: _Channel, *, num_members: bool = False) -> dict[str, Any]:
        if ch.is_im:
            obj: dict[str, Any] = {
                "id": ch.id,
                "created": ch.created,
                "is_im": True,
                "is_org_shared": False,
                "user": ch.user,
                "is_user_deleted": False,
                "priority": 0,
                "context_team_id": self.team_id,
            }
        else:
            empty = {"value": "", "creator": "", "last_set": 0}
            obj = {
                "id": ch.id,
                "name": ch.name,
                "name_normalized": ch.name,
                "is_channel": not ch.is_mpim,
                "is_group": False,
                "is_im": False,
                "is_mpim": ch.is_mpim,
                "is_private": ch.is_private or ch.is_mpim,
                "created": ch.created,
                "is_archived": False,
                "is_general": False,
                "unlinked": 0,
                "is_shared": False,
                "is_org_shared": False,
                "is_ext_shared": False,
                "is_pending_ext_shared": False,
                "creator": "",
                "is_member": ch.bot_is_member,
                "topic": dict(empty),
                "purpose": dict(empty),
                "previous_names": [],
                "context_team_id": self.team_id,
                "updated": ch.created * 1000,
            }
        if num_members:
            obj["num_members"] = len(self._member_ids(ch))
        return obj

    def _bot_profile(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "app_id": self.app_id,
            "name": self.bot_name,
            "team_id": self.team_id,
            "deleted": False,
            "updated": int(time.time()),
            "icons": {"image_48": "https://avatars.example/bot_48.png"},
        }

    def _message_obj(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": params.get("text") or "",
            "ts": ts,
            "team": self.team_id,
            "bot_profile": self._bot_profile(),
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) is not None:
                msg[key] = params[key]
        return msg

    def _message_problems(self, method: str, params: dict[str, Any]) -> _Answer | None:
        """Validate a message payload; record problems; the error answer Slack would give, or None."""
        blocks = params.get("blocks")
        if isinstance(blocks, str) or (blocks is not None and not isinstance(blocks, list)):
            self.block_errors.append(f"{method}: blocks is not a JSON array" + at_pointer("/blocks"))
            return _err("invalid_blocks_format")
        errors = validate_message(params)
        if not errors:
            return None
        self.block_errors.extend(f"{method}: {e}" for e in errors)
        block_errors = [e for e in errors if not e.endswith(at_pointer("/text"))]
        if not block_errors:
            return _err("msg_too_long")
        return _err(
            "invalid_blocks",
            errors=block_errors,
            response_metadata={"messages": [f"[ERROR] {e}" for e in block_errors]},
        )

    def _channel_for_post(self, params: dict[str, Any]) -> tuple[str, _Channel | None]:
        ref = params.get("channel")
        if not ref:
            raise _ApiError("channel_not_found")
        ch = self._resolve_channel(ref)
        if ch is not None and not ch.is_im and not ch.bot_is_member:
            raise _ApiError("not_in_channel")
        return (ch.id if ch else str(ref)), ch

    # -- Web API methods -------------------------------------------------------------------------------------
    def _auth_test(self, p: dict[str, Any]) -> _Answer:
        answer = _ok(
            url=f"https://{self.team_domain}.slack.com/",
            team=self.team_name,
            user=self.bot_name,
            team_id=self.team_id,
            user_id=self.bot_user_id,
            bot_id=self.bot_id,
            is_enterprise_install=False,
        )
        answer.headers["x-oauth-scopes"] = _BOT_SCOPES
        return answer

    def _bots_info(self, p: dict[str, Any]) -> _Answer:
        if p.get("bot") not in (None, "", self.bot_id):
            raise _ApiError("bot_not_found")
        return _ok(
            bot={
                "id": self.bot_id,
                "deleted": False,
                "name": self.bot_name,
                "updated": int(time.time()),
                "app_id": self.app_id,
                "user_id": self.bot_user_id,
                "icons": {
                    "image_36": "https://avatars.example/bot_36.png",
                    "image_48": "https://avatars.example/bot_48.png",
                    "image_72": "https://avatars.example/bot_72.png",
                },
            }
        )

    def _team_info(self, p: dict[str, Any]) -> _Answer:
        # Note: Slack's team object has no time zone; per-user tz comes from users.info.
        return _ok(
            team={
                "id": self.team_id,
                "name": self.team_name,
                "url": f"https://{self.team_domain}.slack.com/",
                "domain": self.team_domain,
                "email_domain": "",
                "is_verified": False,
                "icon": {
                    "image_default": True,
                    "image_34": "https://avatars.example/team_34.png",
                    "image_68": "https://avatars.example/team_68.png",
                },
                "avatar_base_url": "https://avatars.example/",
            }
        )

    def _user_obj(self, user: dict[str, Any], include_locale: bool = False) -> dict[str, Any]:
        obj = {**user, "profile": dict(user["profile"])}
        if user.get("tz"):
            obj.update(_tz_fields(user["tz"]))
        if include_locale:
            obj["locale"] = "en-US"
        return obj

    def _users_info(self, p: dict[str, Any]) -> _Answer:
        return _ok(user=self._user_obj(self._user(p.get("user")), _truthy(p.get("include_locale"))))

    def _users_list(self, p: dict[str, Any]) -> _Answer:
        users = [self._user_obj(u, _truthy(p.get("include_locale"))) for u in self.users.values()]
        page, meta = _paginate(users, p, default_limit=MAX_PAGE_SIZE)
        return _ok(members=page, cache_ts=int(time.time()), response_metadata=meta)

    def _users_conversations(self, p: dict[str, Any]) -> _Answer:
        user_id = p.get("user") or self.bot_user_id
        self._user(user_id)
        types = {t.strip() for t in str(p.get("types") or "public_channel").split(",") if t.strip()}
        found = []
        for ch in self._channels.values():
            kind = (
                "im"
                if ch.is_im
                else "mpim"
                if ch.is_mpim
                else "private_channel"
                if ch.is_private
                else "public_channel"
            )
            if kind in types and user_id in self._member_ids(ch):
                found.append(self._channel_obj(ch))
        page, meta = _paginate(found, p)
        return _ok(channels=page, response_metadata=meta)

    def _conversations_open(self, p: dict[str, Any]) -> _Answer:
        if p.get("channel"):
            ch = self._resolve_channel(p["channel"])
            if ch is None:
                raise _ApiError("channel_not_found")
            return _ok(channel=self._channel_obj(ch), no_op=True, already_open=True)
        users = [u.strip() for u in str(p.get("users") or "").split(",") if u.strip()]
        if not users:
            raise _ApiError("users_list_not_supplied")
        for u in users:
            self._user(u)
        if len(users) == 1:
            existed = self.dm_channel_id(users[0]) in self._channels
            ch = self._dm(users[0])
        else:
            cid = "G" + "".join(sorted(users))
            existed = cid in self._channels
            ch = self._channels.setdefault(
                cid,
                _Channel(
                    id=cid, name="mpdm-" + "--".join(sorted(users)), members=sorted(users), is_mpim=True
                ),
            )
        channel = self._channel_obj(ch) if _truthy(p.get("return_im")) else {"id": ch.id}
        return _ok(channel=channel, **({"no_op": True, "already_open": True} if existed else {}))

    def _visible_channel(self, ref: Any) -> _Channel:
        ch = self._resolve_channel(ref)
        if ch is None or (ch.is_private and not ch.bot_is_member):
            raise _ApiError("channel_not_found")
        return ch

    def _conversations_info(self, p: dict[str, Any]) -> _Answer:
        ch = self._visible_channel(p.get("channel"))
        return _ok(channel=self._channel_obj(ch, num_members=_truthy(p.get("include_num_members"))))

    def _conversations_members(self, p: dict[str, Any]) -> _Answer:
        ch = self._visible_channel(p.get("channel"))
        page, meta = _paginate(self._member_ids(ch), p)
        return _ok(members=page, response_metadata=meta)

    def _conversations_join(self, p: dict[str, Any]) -> _Answer:
        ch = self._resolve_channel(p.get("channel"))
        if ch is None or ch.is_im:
            raise _ApiError("channel_not_found")
        if ch.is_private and not ch.bot_is_member:
            raise _ApiError("method_not_supported_for_channel_type")
        already = ch.bot_is_member
        ch.bot_is_member = True
        extra = (
            {"warning": "already_in_channel", "response_metadata": {"warnings": ["already_in_channel"]}}
            if already
            else {}
        )
        return _ok(channel=self._channel_obj(ch), **extra)

    def _chat_post_message(self, p: dict[str, Any]) -> _Answer:
        problem = self._message_problems("chat.postMessage", p)
        if problem:
            return problem
        channel_id, _ = self._channel_for_post(p)
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            raise _ApiError("no_text")
        ts = self._next_ts()
        message = self._message_obj(p, ts)
        self.messages.setdefault(channel_id, []).append(message)
        return _ok(channel=channel_id, ts=ts, message=message)

    def _conversations_history(self, p: dict[str, Any]) -> _Answer:
        """Newest first, ``limit`` a page (Slack's default 100), cursor-paginated; ``metadata`` only with
        ``include_all_metadata``, as Slack does. Needs the channel to be one the bot can read."""
        ref = str(p.get("channel") or "")
        ch = self._resolve_channel(ref)
        if ch is None and ref not in self.messages:
            raise _ApiError("channel_not_found")
        if ch is not None and not ch.is_im and not ch.bot_is_member:
            raise _ApiError("not_in_channel")
        with_metadata = _truthy(p.get("include_all_metadata"))
        found = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
            for m in reversed(self.messages.get(ch.id if ch else ref, []))
        ]
        page, meta = _paginate(found, p)
        return _ok(messages=page, has_more=bool(meta["next_cursor"]), pin_count=0, response_metadata=meta)

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> _Answer:
        problem = self._message_problems("chat.postEphemeral", p)
        if problem:
            return problem
        user_id = p.get("user")
        self._user(user_id)
        _, ch = self._channel_for_post(p)
        if ch is not None and user_id not in self._member_ids(ch):
            raise _ApiError("user_not_in_channel")
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            raise _ApiError("no_text")
        return _ok(message_ts=self._next_ts())

    def _chat_update(self, p: dict[str, Any]) -> _Answer:
        problem = self._message_problems("chat.update", p)
        if problem:
            return problem
        if not p.get("ts"):
            raise _ApiError("message_not_found")
        channel_id, _ = self._channel_for_post(p)
        ts = str(p["ts"])
        return _ok(channel=channel_id, ts=ts, text=p.get("text") or "", message=self._message_obj(p, ts))

    def _chat_delete(self, p: dict[str, Any]) -> _Answer:
        if not p.get("channel"):
            raise _ApiError("channel_not_found")
        if not p.get("ts"):
            raise _ApiError("message_not_found")
        ch = self._resolve_channel(p["channel"])
        return _ok(channel=ch.id if ch else str(p["channel"]), ts=str(p["ts"]))

    def _chat_schedule_message(self, p: dict[str, Any]) -> _Answer:
        problem = self._message_problems("chat.scheduleMessage", p)
        if problem:
            return problem
        channel_id, _ = self._channel_for_post(p)
        post_at = _int(p.get("post_at"), -1)
        if post_at < 0:
            raise _ApiError("invalid_time")
        if post_at < time.time():
            raise _ApiError("time_in_past")
        return _ok(
            channel=channel_id,
            scheduled_message_id=self._next_id("Q"),
            post_at=post_at,
            message=self._message_obj(p, self._next_ts()),
        )

    def _chat_get_permalink(self, p: dict[str, Any]) -> _Answer:
        if not p.get("message_ts"):
            raise _ApiError("message_not_found")
        ch = self._resolve_channel(p.get("channel"))
        channel_id = ch.id if ch else str(p.get("channel") or "")
        if not channel_id:
            raise _ApiError("channel_not_found")
        ts = str(p["message_ts"]).replace(".", "")
        return _ok(
            channel=channel_id, permalink=f"https://{self.team_domain}.slack.com/archives/{channel_id}/p{ts}"
        )

    def _views(self, method: str, p: dict[str, Any]) -> _Answer:
        view = p.get("view")
        if view is None or isinstance(view, str):
            self.block_errors.append(f"{method}: view is missing or not a JSON object" + at_pointer("/view"))
            return _err(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing or invalid `view`"]}
            )
        errors = validate_view(view)
        if errors:
            self.block_errors.extend(f"{method}: {e}" for e in errors)
            return _err("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
        if (
            method in ("views.open", "views.push")
            and not p.get("trigger_id")
            and not p.get("interactivity_pointer")
        ):
            raise _ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing `trigger_id`"]}
            )
        if method == "views.publish":
            self._user(p.get("user_id"))
            if view.get("type") != "home":
                raise _ApiError(
                    "invalid_arguments",
                    response_metadata={"messages": ["[ERROR] views.publish needs a home view"]},
                )
        previous: dict[str, Any] | None = None
        if method == "views.update":
            view_id = p.get("view_id") or ""
            if not view_id and p.get("external_id"):
                view_id = next(
                    (v["id"] for v in self.views.values() if v.get("external_id") == p["external_id"]), ""
                )
            if not view_id:
                raise _ApiError("not_found")
            previous = self.views.get(view_id)
            if previous and p.get("hash") and p["hash"] != previous["hash"]:
                raise _ApiError("hash_conflict")
        elif method == "views.publish":
            view_id = next(
                (
                    v["id"]
                    for v in self.views.values()
                    if v["type"] == "home" and v.get("_user_id") == p["user_id"]
                ),
                "",
            ) or self._next_id("V")
            previous = self.views.get(view_id)
        else:
            view_id = self._next_id("V")
        root = (previous or {}).get("root_view_id") or view_id
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._ids):08d}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": root,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if method == "views.publish":
            stored["_user_id"] = p["user_id"]
        self.views[view_id] = stored
        return _ok(view={k: v for k, v in stored.items() if not k.startswith("_")})

    def _files_get_upload_url(self, p: dict[str, Any]) -> _Answer:
        filename = p.get("filename")
        length = _int(p.get("length"), -1)
        if not filename or length < 0:
            raise _ApiError("invalid_arguments")
        file_id = self._next_id("F")
        self._files[file_id] = {
            "filename": str(filename),
            "length": length,
            "alt_txt": p.get("alt_txt"),
            "snippet_type": p.get("snippet_type"),
        }
        return _ok(upload_url=f"{self.base_url}upload/{file_id}", file_id=file_id)

    def _files_complete_upload(self, p: dict[str, Any]) -> _Answer:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            raise _ApiError("invalid_arguments")
        channel_id = p.get("channel_id")
        if channel_id:
            ch = self._resolve_channel(channel_id)
            if ch is not None and not ch.is_im and not ch.bot_is_member:
                raise _ApiError("not_in_channel")
        out = []
        for f in files:
            file_id = f.get("id") if isinstance(f, dict) else None
            meta = self._files.get(str(file_id))
            if meta is None or file_id not in self.uploaded_files:
                raise _ApiError("file_not_found")
            name = meta["filename"]
            title = f.get("title") or name
            meta.update(
                title=title,
                channel_id=channel_id,
                thread_ts=p.get("thread_ts"),
                initial_comment=p.get("initial_comment"),
            )
            now = int(time.time())
            out.append(
                {
                    "id": file_id,
                    "created": now,
                    "timestamp": now,
                    "name": name,
                    "title": title,
                    "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
                    "filetype": name.rsplit(".", 1)[-1].lower() if "." in name else "binary",
                    "user": self.bot_user_id,
                    "user_team": self.team_id,
                    "editable": False,
                    "size": len(self.uploaded_files[file_id]),
                    "mode": "hosted",
                    "is_external": False,
                    "is_public": False,
                    "url_private": f"{self.base_url}files/{file_id}/{quote(name)}",
                    "permalink": f"https://{self.team_domain}.slack.com/files/{self.bot_user_id}/{file_id}/"
                    + quote(name),
                }
            )
        return _ok(files=out)
