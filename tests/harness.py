"""Drive the real Bolt app the way Slack does: signed HTTP requests to the real HTTP runner,
with every Web API call answered (and recorded) by the fake Slack on loopback."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from slack_sdk.signature import SignatureVerifier

from bot.app import create_app
from bot.config import Settings
from bot.runners import HttpRunner
from bot.slack_client import make_client

SECRET = "test-signing-secret"
TEAM = "T1"
_ids = itertools.count(1)


@dataclass
class Response:
    status: int
    body: str
    seconds: float  # how long Slack would have waited for the ack


class SlackDriver:
    def __init__(self, store, clock, fake, coach=None, **settings):
        self.store, self.clock, self.fake = store, clock, fake
        self.settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                                 slack_api_url=fake.api_url, **settings)
        self.client = make_client("xoxb-test", fake.api_url)
        self.app = create_app(self.settings, store, clock, self.client, coach=coach)
        self.runner = HttpRunner(self.app, store.ping, port=0, threads=4).start_in_background()
        self.verifier = SignatureVerifier(SECRET)

    def close(self):
        self.runner.stop()

    # -- raw signed requests -------------------------------------------------
    def post(self, body: str, content_type: str, *, headers: dict | None = None, sign: bool = True,
             timestamp: int | None = None) -> Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        h = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts}
        if sign:
            h["X-Slack-Signature"] = self.verifier.generate_signature(timestamp=ts, body=body)
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
    def command(self, text: str, user: str = "U1", channel: str = "C1", **kw) -> Response:
        n = next(_ids)
        return self.form({"token": "legacy", "team_id": TEAM, "team_domain": "acme", "channel_id": channel,
                          "channel_name": "sales", "user_id": user, "user_name": user.lower(),
                          "command": "/deal", "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
                          "response_url": self.fake.response_url(f"cmd{n}"), "trigger_id": f"trig.{n}"}, **kw)

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
            "type": "block_actions", "user": {"id": user, "team_id": TEAM, "username": user.lower()},
            "api_app_id": "A1", "token": "legacy", "team": {"id": TEAM, "domain": "acme"},
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
            "type": "view_submission", "team": {"id": TEAM}, "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A1", "token": "legacy", "trigger_id": f"trig.{next(_ids)}",
            "view": {"id": "V1", "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
                     "state": {"values": state}, "hash": "h"}})

    def event(self, event: dict, *, event_id: str | None = None, retry: int | None = None) -> Response:
        body = {"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "event": event, "type": "event_callback",
                "event_id": event_id or f"Ev{next(_ids):08d}", "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}]}
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.post(json.dumps(body), "application/json", headers=headers)

    def dm(self, text: str, user: str = "U1", **kw) -> Response:
        ts = f"{time.time():.6f}"
        return self.event({"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user,
                           "text": text, "ts": ts, "event_ts": ts}, **kw)


def people(fake) -> None:
    """The demo workspace: reps in three zones, a teammate, a sales channel."""
    fake.add_user("U1", "dana", real_name="Dana Scully", tz="America/New_York")
    fake.add_user("U2", "ben", real_name="Ben Meyer", tz="Europe/Berlin")
    fake.add_user("U3", "priya", real_name="Priya Rao", tz="Asia/Kolkata")
    fake.add_channel("C1", "sales", members=["U1", "U2", "U3"])
