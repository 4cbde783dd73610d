"""Drive the real Bolt app the way Slack does: signed HTTP requests to the real HTTP runner, with every
Web API call answered (and recorded) by the fake Slack on loopback.

The tests (through `tests/harness.py`) and the `hardno try` sandbox share this one implementation.
Payload shapes follow Slack's documentation for slash commands, block_actions, view_submission,
message_action (message shortcuts) and the Events API.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.app import create_app
from bot.config import Settings
from bot.runners import HttpRunner
from bot.slack_client import make_client

SECRET = "test-signing-secret"
TEAM = "T1"
_ids = itertools.count(1)

__all__ = ["SECRET", "TEAM", "Response", "SlackDriver", "view_state"]


@dataclass
class Response:
    status: int
    body: str
    seconds: float  # how long Slack would have waited for the ack

    def json(self) -> dict:
        """The ack's JSON body (a view_submission's `response_action`), or {} for an empty/plain body."""
        try:
            found = json.loads(self.body) if self.body.strip() else {}
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}


class _Inflight:
    """Counts the listener runs Bolt has handed to its executor and not finished yet.

    Bolt acks first and runs the listener on a thread pool (process_before_response=False), so an
    answered HTTP request does not mean the app is done; `wait_idle` does.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0

    def wrap(self, executor: Executor) -> None:
        submit = executor.submit

        def tracked_submit(fn, /, *args, **kwargs):
            with self._cond:
                self._running += 1
            try:
                future = submit(fn, *args, **kwargs)
            except BaseException:
                self._done()
                raise
            future.add_done_callback(lambda _f: self._done())
            return future

        executor.submit = tracked_submit  # type: ignore[method-assign]

    def _done(self) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._running <= 0, timeout)


def bolt_listener_executor(app) -> Executor:
    """Bolt's listener thread pool (a private attribute). Without it nothing could tell when the app is
    done, and every "nothing was posted" check would pass by not waiting: so a Bolt that moved it fails
    here, loudly, instead."""
    runner = getattr(app, "_listener_runner", None)
    executor = getattr(runner, "listener_executor", None)
    if executor is None or not callable(getattr(executor, "submit", None)):
        raise RuntimeError("slack_bolt's App._listener_runner.listener_executor is gone (Bolt changed its "
                           "internals): SlackDriver.settle() can't wait for listeners; update bot/driver.py")
    return executor


class SlackDriver:
    """The real app behind its HTTP runner, and the requests Slack would send it.

    `settings` are extra `Settings` fields (e.g. `openai_api_key=...`); with `coach=None` the app
    picks the coach from them exactly as `serve` does.
    """

    def __init__(self, store, clock, fake, coach=None, *, threads: int = 4, **settings):
        self.store, self.clock, self.fake = store, clock, fake
        self.settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                                 slack_api_url=fake.api_url, **settings)
        self.client = make_client("xoxb-test", fake.api_url)
        self.app = create_app(self.settings, store, clock, self.client, coach=coach)
        self._inflight = _Inflight()
        self._inflight.wrap(bolt_listener_executor(self.app))
        self.runner = HttpRunner(self.app, store.ping, port=0, threads=threads).start_in_background()
        self.verifier = SignatureVerifier(SECRET)
        self.team = TEAM  # the workspace every request comes from (see `in_workspace`)

    @contextmanager
    def in_workspace(self, team: str) -> Iterator[SlackDriver]:
        """Requests sent meanwhile come from the workspace `team` (the same app installed in another)."""
        before, self.team = self.team, team
        try:
            yield self
        finally:
            self.team = before

    def close(self):
        """Stop the HTTP runner (its stop hands the shutdown to waitress's own loop thread)."""
        self.runner.stop()

    def settle(self, timeout: float = 30) -> bool:
        """Wait until every listener the app started has finished (True), or `timeout` passed (False)."""
        return self._inflight.wait_idle(timeout)

    # -- raw signed requests -------------------------------------------------
    def post(self, body: str, content_type: str, *, headers: dict | None = None, sign: bool = True,
             timestamp: int | None = None) -> Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        h = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts}
        if sign:
            h["X-Slack-Signature"] = self.verifier.generate_signature(timestamp=ts, body=body) or ""
        h.update(headers or {})
        req = urllib.request.Request(self.runner.url + "/slack/events", data=body.encode(), headers=h, method="POST")
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return Response(r.status, r.read().decode(), time.perf_counter() - start)
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode(), time.perf_counter() - start)

    def get(self, path: str) -> Response:
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(self.runner.url + path, timeout=10) as r:
                return Response(r.status, r.read().decode(), time.perf_counter() - start)
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode(), time.perf_counter() - start)

    def form(self, fields: dict, **kw) -> Response:
        return self.post(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded", **kw)

    def interactive(self, payload: dict, **kw) -> Response:
        return self.form({"payload": json.dumps(payload)}, **kw)

    # -- what Slack sends ----------------------------------------------------
    def command(self, text: str, user: str = "U1", channel: str = "C1", *, channel_name: str = "sales",
                response_url: str | None = None, **kw) -> Response:
        n = next(_ids)
        return self.form({"token": "legacy", "team_id": self.team, "team_domain": "acme", "channel_id": channel,
                          "channel_name": channel_name, "user_id": user, "user_name": user.lower(),
                          "command": "/deal", "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
                          "response_url": response_url or self.fake.response_url(f"cmd{n}"),
                          "trigger_id": f"trig.{n}"}, **kw)

    def deal(self, text: str, user: str = "U1", channel: str = "C1") -> dict:
        """`/deal <text>` and the ephemeral reply that reaches the response_url."""
        before = len(self.fake.calls_to("response_url"))
        r = self.command(text, user=user, channel=channel)
        assert r.status == 200, r
        return self.fake.wait_for("response_url", count=before + 1)[before].params

    def click(self, action_id: str, value: str, user: str = "U1", *, container: str = "message",
              channel: str = "C1", message: dict | None = None, block_id: str = "b") -> Response:
        n = next(_ids)
        payload = {
            "type": "block_actions", "user": {"id": user, "team_id": self.team, "username": user.lower()},
            "api_app_id": "A1", "token": "legacy", "team": {"id": self.team, "domain": "acme"},
            "trigger_id": f"trig.{n}", "response_url": self.fake.response_url(f"act{n}"),
            "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                         "action_ts": f"{time.time():.6f}", "text": {"type": "plain_text", "text": "x"}}],
        }
        if container == "message":
            payload["container"] = {"type": "message", "message_ts": "1.000100", "channel_id": channel,
                                    "is_ephemeral": message is None}
            payload["channel"] = {"id": channel, "name": "x"}
            payload["message"] = message or {"ts": "1.000100", "text": "", "blocks": []}
        else:
            payload["container"] = {"type": "view", "view_id": "V1"}
            payload["view"] = {"id": "V1", "type": "home", "blocks": [], "state": {"values": {}}}
            payload.pop("response_url")
        return self.interactive(payload)

    def press(self, action_id: str, value: str, user: str = "U1", **kw) -> dict:
        """Click a button on an ephemeral message and return what replaced it."""
        before = len(self.fake.calls_to("response_url"))
        r = self.click(action_id, value, user=user, **kw)
        assert r.status == 200, r
        return self.fake.wait_for("response_url", count=before + 1)[before].params

    def press_element(self, element: dict, block_id: str, user: str = "U1", *, channel: str | None = None,
                      message: dict | None = None, ephemeral: bool = False, view: dict | None = None,
                      response_url: str | None = None, answer=None) -> Response:
        """Click a real button (an element of blocks the app sent) where it was shown; for another control
        (a date picker, a menu) `answer` is what the rep picked, as `view_state` takes it.

        - On a message: pass `channel` and the `message` as posted (`ts`, `text`, `blocks`); for an
          ephemeral message (a /deal reply) pass `ephemeral=True`: Slack then sends no `message`.
        - On a view (App Home, a modal): pass the `view` as stored by the fake (id, type, blocks, state).
        `response_url` lets the caller name where the app's answer to a message click goes.
        """
        n = next(_ids)
        action = {"type": element.get("type", "button"), "action_id": element.get("action_id") or f"a{n}",
                  "block_id": block_id, "action_ts": f"{time.time():.6f}"}
        for key in ("text", "value", "style", "url", "placeholder", "initial_date", "initial_time",
                    "initial_date_time", "initial_option"):
            if element.get(key) is not None:
                action[key] = element[key]
        if action["type"] != "button":
            action.update(element_state(element, answer))
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user, "team_id": self.team, "username": user.lower(), "name": user.lower()},
            "api_app_id": "A1", "token": "legacy", "team": {"id": self.team, "domain": "acme"},
            "trigger_id": f"trig.{n}", "actions": [action], "is_enterprise_install": False,
            "enterprise": None, "state": {"values": {}},
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "")}
            payload["view"] = {k: v for k, v in view.items() if not k.startswith("_")}
        else:
            if channel is None:
                raise ValueError("a message click needs the channel the message is in")
            ts = (message or {}).get("ts") or f"{time.time():.6f}"
            payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel,
                                    "is_ephemeral": ephemeral}
            payload["channel"] = {"id": channel, "name": channel}
            payload["response_url"] = response_url or self.fake.response_url(f"act{n}")
            if not ephemeral:
                payload["message"] = {"type": "message", "user": self.fake.bot_user_id, "bot_id": self.fake.bot_id,
                                      "ts": ts, "text": "", "blocks": [], **(message or {})}
        return self.interactive(payload)

    def submit(self, callback_id: str, values: dict, user: str = "U1", private_metadata: str = "") -> Response:
        """A view_submission; `values` maps block_id to the value the rep entered."""
        state = {}
        for block_id, v in values.items():
            if isinstance(v, int):
                state[block_id] = {"v": {"type": "datetimepicker", "selected_date_time": v}}
            elif isinstance(v, tuple):  # ("select", value)
                state[block_id] = {"v": {"type": "static_select", "selected_option": {"value": v[1]}}}
            else:
                state[block_id] = {"v": {"type": "plain_text_input", "value": v}}
        return self.interactive({
            "type": "view_submission", "team": {"id": self.team}, "user": {"id": user, "team_id": self.team},
            "api_app_id": "A1", "token": "legacy", "trigger_id": f"trig.{next(_ids)}",
            "view": {"id": "V1", "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
                     "state": {"values": state}, "hash": "h"}})

    def submit_view(self, view: dict, answers: dict, user: str = "U1") -> Response:
        """Submit a real modal (as the app opened it, e.g. from `fake.views`) with the rep's answers:
        {block_id: value}, shaped per input element by `view_state`."""
        submitted = {k: v for k, v in view.items() if not k.startswith("_")}
        submitted["state"] = {"values": view_state(view, answers)}
        return self.interactive({
            "type": "view_submission", "team": {"id": self.team, "domain": "acme"},
            "user": {"id": user, "team_id": self.team, "username": user.lower(), "name": user.lower()},
            "api_app_id": "A1", "token": "legacy", "trigger_id": f"trig.{next(_ids)}", "view": submitted,
            "response_urls": [], "is_enterprise_install": False, "enterprise": None})

    def shortcut(self, callback_id: str, message: dict, user: str = "U1", channel: str = "C1") -> Response:
        """A message shortcut (`message_action`) on `message` (at least `text`; `user` and `ts` default)."""
        n = next(_ids)
        ts = message.get("ts") or f"{time.time():.6f}"
        return self.interactive({
            "type": "message_action", "token": "legacy", "action_ts": f"{time.time():.6f}",
            "team": {"id": self.team, "domain": "acme"}, "user": {"id": user, "team_id": self.team, "name": user.lower()},
            "channel": {"id": channel, "name": channel}, "is_enterprise_install": False, "enterprise": None,
            "callback_id": callback_id, "trigger_id": f"trig.{n}", "message_ts": ts,
            "message": {"type": "message", "user": user, "ts": ts, **message},
            "response_url": self.fake.response_url(f"sc{n}")})

    def event(self, event: dict, *, event_id: str | None = None, retry: int | None = None) -> Response:
        body = {"token": "legacy", "team_id": self.team, "api_app_id": "A1", "event": event, "type": "event_callback",
                "event_id": event_id or f"Ev{next(_ids):08d}", "event_time": int(time.time()),
                "authorizations": [{"team_id": self.team, "user_id": "UBOT", "is_bot": True}]}
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.post(json.dumps(body), "application/json", headers=headers)

    def dm(self, text: str, user: str = "U1", *, thread_ts: str | None = None, **kw) -> Response:
        """A message in the rep's DM with the bot; with `thread_ts`, a reply in that message's thread."""
        ts = f"{time.time():.6f}"
        event = {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user,
                 "text": text, "ts": ts, "event_ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **kw)

    def home_opened(self, user: str = "U1", **kw) -> Response:
        """The rep opens the app's Home tab."""
        ts = f"{time.time():.6f}"
        return self.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                           "event_ts": ts}, **kw)


def view_state(view: dict, answers: dict) -> dict:
    """`view.state.values` as Slack sends it on submission: {block_id: {action_id: {type, value...}}}.

    `answers` maps an input block's block_id to what the rep entered: a string for text and number
    inputs, an option's value for selects and radio buttons (a list of values for multi-selects and
    checkboxes), a datetime or epoch seconds for a datetimepicker, a date for a datepicker, "HH:MM" for a
    timepicker. Inputs without an answer are sent empty (null), as Slack does.
    """
    values: dict = {}
    for i, block in enumerate(view.get("blocks") or []):
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        el = block["element"]
        block_id = block.get("block_id") or f"input{i}"
        answer = answers.get(block_id)
        values[block_id] = {el.get("action_id") or f"v{i}": element_state(el, answer)}
    return values


def _options(el: dict) -> list[dict]:
    found = list(el.get("options") or [])
    for group in el.get("option_groups") or []:
        found += group.get("options") or []
    return found


def _option(el: dict, value) -> dict | None:
    if value is None:
        return None
    return next((o for o in _options(el) if o.get("value") == str(value)), None)


def element_state(el: dict, answer) -> dict:
    kind = el.get("type", "")
    state: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        state["value"] = None if answer in (None, "") else str(answer)
    elif kind in ("static_select", "radio_buttons", "external_select", "overflow"):
        state["selected_option"] = _option(el, answer)
    elif kind in ("multi_static_select", "checkboxes"):
        state["selected_options"] = [o for o in (_option(el, v) for v in (answer or [])) if o]
    elif kind == "datetimepicker":
        if isinstance(answer, datetime):
            answer = int(answer.timestamp())
        state["selected_date_time"] = int(answer) if answer is not None else None
    elif kind == "datepicker":
        state["selected_date"] = answer.isoformat() if isinstance(answer, date) else answer
    elif kind == "timepicker":
        state["selected_time"] = answer
    elif kind == "users_select":
        state["selected_user"] = answer
    elif kind == "conversations_select":
        state["selected_conversation"] = answer
    elif kind == "channels_select":
        state["selected_channel"] = answer
    else:
        state["value"] = answer
    return state
