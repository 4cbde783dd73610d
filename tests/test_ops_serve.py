"""`hardno serve` as operators run it: a real process, JSON logs, metrics and health on two ports, SIGTERM
with a request in flight, and the HTTP-mode manifest."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from bot.sandbox.fakeslack import FakeSlack
from tests.backends import create_pg_database
from tests.serving import ROOT, SECRET, TOKEN, Serve, env_for, free_port, get

# shared/ sits beside the checkout (CI, /work/main) or beside the worktrees' parent (/work/wt/<name>)
SCHEMA = next((p for p in (ROOT.parent / "shared/slack/manifest.schema.1.0.0.json",
                           ROOT.parents[1] / "shared/slack/manifest.schema.1.0.0.json") if p.exists()),
              ROOT.parent / "shared/slack/manifest.schema.1.0.0.json")


@pytest.fixture
def fake():
    with FakeSlack() as f:
        f.add_user("U1", "dana", real_name="Dana Scully", tz="America/New_York")
        yield f


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_serve_logs_one_json_object_per_line_and_serves_metrics_and_health_on_both_ports(tmp_path, fake):
    health_port = free_port()
    serve = Serve(tmp_path, fake, f"sqlite:///{tmp_path / 'ops.db'}", "--health-port", str(health_port),
                  HARDNO_LOG_FORMAT="json", HARDNO_LOG_LEVEL="info")
    try:
        assert serve.command("add Zanzibarco $9k note the CFO whispered a secret") == 200
        fake.wait_for("response_url", timeout=30)
        assert serve.dm("Quuxly said maybe, the budget is frozen until spring") == 200
        fake.wait_for("chat.postMessage", timeout=30)
        for base in (serve.base, f"http://127.0.0.1:{health_port}"):
            status, body = get(base + "/metrics")
            assert status == 200
            assert metric(body, 'hardno_ack_seconds_count{kind="command"}') == 1
            assert metric(body, 'hardno_ack_seconds_count{kind="event"}') == 1
            status, body = get(base + "/readyz")
            assert status == 200 and json.loads(body)["migrations"] == "current"
        assert get(f"http://127.0.0.1:{health_port}/slack/events")[0] == 404  # operations routes only
    finally:
        code, err = serve.stop()
    assert code == 0, err[-3000:]
    lines = [json.loads(line) for line in err.splitlines()]  # every line is one JSON object
    requests = [(r["kind"], r["listener"], r["outcome"]) for r in lines if r["logger"] == "hardno.request"]
    assert requests == [("command", "/deal", "ok"), ("event", "message.im", "ok")]
    for secret in ("Zanzibarco", "whispered", "Quuxly", "frozen", TOKEN, SECRET):
        assert secret not in err, secret


@pytest.mark.parametrize("var, value", [("HARDNO_LOG_LEVEL", "loud"), ("HARDNO_LOG_FORMAT", "xml")])
def test_bad_log_settings_exit_2_with_one_line(tmp_path, var, value):
    r = subprocess.run([sys.executable, "-m", "bot", "manifest"], cwd=tmp_path, env=env_for(**{var: value}),
                       capture_output=True, text=True, timeout=60)
    lines = r.stderr.strip().splitlines()
    assert (r.returncode, len(lines)) == (2, 1), r.stderr
    assert lines[0].startswith(f"hardno: {var} must be one of") and "Traceback" not in r.stderr


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(tmp_path, fake):
    url, drop = create_pg_database()
    serve = None
    try:
        serve = Serve(tmp_path, fake, url)
        libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(libpq) as blocker:
            # The event's first step is claiming its event_id in slack_events: hold that table, so the request
            # is stuck inside the app, before its ack, when SIGTERM arrives.
            blocker.execute("LOCK TABLE slack_events IN ACCESS EXCLUSIVE MODE")
            answer: list[int] = []
            sender = threading.Thread(target=lambda: answer.append(serve.dm("Acme said maybe", timeout=60)))
            sender.start()
            with psycopg.connect(libpq, autocommit=True) as watcher:
                deadline = time.monotonic() + 30
                while not watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
                    assert time.monotonic() < deadline, "the request never reached the database"
                    time.sleep(0.05)
            serve.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while True:  # new connections are refused at once ...
                try:
                    socket.create_connection(("127.0.0.1", serve.port), timeout=1).close()
                except ConnectionRefusedError:
                    break
                assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
                time.sleep(0.05)
            assert serve.proc.poll() is None and not answer  # ... while the request in flight waits
            blocker.rollback()  # the database answers again
        sender.join(timeout=30)
        assert answer == [200]  # the request read before SIGTERM got its ack
        code, err = serve.stop()
        assert code == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        assert fake.calls_to("chat.postMessage"), "the listener's work after the ack was cut short"
    finally:
        if serve is not None and serve.proc.poll() is None:
            serve.proc.kill()
        drop()


def test_manifest_for_http_mode_fills_in_the_request_urls(tmp_path):
    import jsonschema
    r = subprocess.run([sys.executable, "-m", "bot", "manifest", "--url", "https://hardno.example.com/"],
                       cwd=tmp_path, env=env_for(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    manifest = json.loads(r.stdout)
    events = "https://hardno.example.com/slack/events"
    assert [c["url"] for c in manifest["features"]["slash_commands"]] == [events]
    assert manifest["settings"]["event_subscriptions"]["request_url"] == events
    assert manifest["settings"]["interactivity"]["request_url"] == events
    assert manifest["settings"]["socket_mode_enabled"] is False
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema not found at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    errors = list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(manifest))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize("url", ["http://hardno.example.com", "hardno.example.com", "https://"])
def test_manifest_url_must_be_https(tmp_path, url):
    r = subprocess.run([sys.executable, "-m", "bot", "manifest", "--url", url], cwd=tmp_path, env=env_for(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--url" in r.stderr, r.stderr
