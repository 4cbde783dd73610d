"""`hardno serve --http` as a real process for tests: free ports, a clean environment, signed requests to it,
and a SIGTERM stop. Used wherever a test needs the process itself (tests/test_ops_serve.py,
tests/test_instances.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
TOKEN, SECRET = "xoxb-1-opstest", "ops-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(**set_vars: str) -> dict[str, str]:
    """The environment for a hardno process: none of the developer's settings, plus `set_vars`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "OPENAI_", "HARDNO_")) and k != "DATABASE_URL"}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")  # this checkout, whatever is installed
    env.update(set_vars)  # a caller may set those two as well
    return env


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Serve:
    """One `hardno serve --http` process against the fake Slack. Its stderr (the log) goes to a file in
    `tmp_path` (a pipe nobody reads would fill and stall the process); `log()` reads it."""

    def __init__(self, tmp_path: Path, fake, db_url: str, *args: str, **env: str):
        self.port, self.fake = free_port(), fake
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"serve-{self.port}.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--http", "--port", str(self.port), *args], cwd=tmp_path,
                env=env_for(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
                            DATABASE_URL=db_url, **env),
                stdout=subprocess.DEVNULL, stderr=log, text=True)
        deadline = time.monotonic() + 90  # a hang guard, not a timing assertion
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if get(self.base + "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.proc.kill()
        self.proc.wait()
        pytest.fail(f"serve did not come up:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text()

    def post(self, body: str, content_type: str, timeout: float = 30, headers: dict[str, str] | None = None) -> int:
        ts = str(int(time.time()))
        signed = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                  "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
                  **(headers or {})}
        req = urllib.request.Request(self.base + "/slack/events", data=body.encode(), headers=signed, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def command(self, text: str, user: str = "U1", *, reply_to: str | None = None, channel: str = "C1") -> int:
        """`/deal text` from `user`; its replies are recorded as response_url calls named `reply_to`."""
        return self.post(urllib.parse.urlencode({
            "token": "legacy", "team_id": "T1", "channel_id": channel, "user_id": user, "command": "/deal",
            "text": text, "api_app_id": "A1", "response_url": self.fake.response_url(reply_to or f"ops{time.time_ns()}"),
            "trigger_id": "trig.1"}), "application/x-www-form-urlencoded")

    def dm(self, text: str, user: str = "U1", event_id: str = "Ev1", timeout: float = 30, *, retry: int = 0,
           ts: str | None = None) -> int:
        """A DM to the bot, as Slack's `message.im` event; `retry` > 0 sends it as Slack's retry number `retry`
        (X-Slack-Retry-Num, X-Slack-Retry-Reason), which keeps the event_id."""
        ts = ts or f"{time.time():.6f}"
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.post(json.dumps({
            "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
            "event_time": int(float(ts)), "event": {"type": "message", "channel_type": "im", "channel": f"D{user}",
                                                    "user": user, "text": text, "ts": ts, "event_ts": ts}}),
            "application/json", timeout=timeout, headers=headers)

    def kill(self) -> None:
        """SIGKILL: the instance dies at once, whatever it was doing (no shutdown step runs)."""
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"serve did not stop on SIGTERM:\n{self.log()[-3000:]}")
        return self.proc.returncode, self.log()
