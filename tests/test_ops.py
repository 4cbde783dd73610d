"""Operations in process: /readyz, /metrics and the one log line per request, through the real HTTP runner."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import logs
from bot.metrics import REGISTRY
from bot.runners import HttpRunner
from handlers.coach import Coach, LLMConfig
from storage import Store, upgrade
from storage.health import readiness
from tests.coach_situations import CASES
from tests.harness import SECRET


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(slack) -> dict[tuple[str, tuple], float]:
    """GET /metrics, parsed as Prometheus would: {(sample name, sorted labels): value}."""
    r = slack.get("/metrics")
    assert r.status == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(r.body) for s in fam.samples}


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- /readyz ----------------------------------------------------------------------------------------------

def test_readyz_is_200_on_a_migrated_database(slack):
    r = slack.get("/readyz")
    assert r.status == 200, r.body
    assert r.json()["migrations"] == "current"


def test_readyz_is_503_while_migrations_are_behind_and_healthz_still_200(tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 'fresh.db'}")  # reachable, never migrated
    runner = HttpRunner(None, store.ping, port=0, threads=2, ready=lambda: readiness(store.engine))
    runner.start_in_background()
    try:
        status, body = get(runner.url + "/readyz")
        assert (status, body["database"], body["migrations"]) == (503, "up", "behind")
        assert get(runner.url + "/healthz")[0] == 200
        upgrade(store.engine)
        assert get(runner.url + "/readyz")[0] == 200
    finally:
        runner.stop(wait=True)
        store.dispose()


def test_readyz_and_healthz_are_503_with_the_database_down():
    store = Store.from_url(f"postgresql+psycopg://hardno@127.0.0.1:{closed_port()}/hardno?connect_timeout=2")
    runner = HttpRunner(None, store.ping, port=0, threads=2, ready=lambda: readiness(store.engine))
    runner.start_in_background()
    try:
        status, body = get(runner.url + "/readyz")
        assert (status, body["ok"], body["database"]) == (503, False, "down")
        assert get(runner.url + "/healthz")[0] == 503
    finally:
        runner.stop(wait=True)
        store.dispose()


def test_the_health_port_serves_operations_routes_only(slack):
    runner = HttpRunner(None, slack.store.ping, port=0, threads=2).start_in_background()
    try:
        assert get(runner.url + "/healthz")[0] == 200
        with urllib.request.urlopen(runner.url + "/metrics", timeout=10) as r:
            assert b"hardno_ack_seconds_bucket" in r.read()
        req = urllib.request.Request(runner.url + "/slack/events", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 404
    finally:
        runner.stop(wait=True)


# -- /metrics ---------------------------------------------------------------------------------------------

def buttons(reply: dict) -> dict[str, str]:
    return {el["action_id"]: el.get("value", "") for b in reply.get("blocks", []) for el in b.get("elements", [])
            if el.get("type") == "button"}


def test_acks_are_counted_by_kind_on_metrics(slack):
    command, action = (("hardno_ack_seconds_count", (("kind", k),)) for k in ("command", "action"))
    before = scraped(slack)
    reply = slack.deal("add Acme $12k")
    slack.deal("list")
    slack.press("deal:maybe", buttons(reply)["deal:maybe"])
    after = scraped(slack)
    assert after[command] - before[command] == 2
    assert after[action] - before[action] == 1
    assert after[("hardno_ack_seconds_bucket", (("kind", "command"), ("le", "3.0")))] >= 2


def test_every_metric_interface_md_names_is_exposed(slack):
    body = slack.get("/metrics").body
    for name, kind in [("hardno_ack_seconds", "histogram"), ("hardno_listener_errors_total", "counter"),
                       ("hardno_deliveries_total", "counter"), ("hardno_slack_api_errors_total", "counter"),
                       ("hardno_llm_seconds", "histogram"), ("hardno_llm_fallbacks_total", "counter"),
                       ("hardno_crm_sync_total", "counter")]:
        assert f"# TYPE {name} {kind}" in body, name


def test_a_listener_that_fails_is_counted(slack):
    before = sample("hardno_listener_errors_total", kind="command")
    # The reply can't be delivered (nothing listens at the response_url): respond() raises in the listener.
    r = slack.command("list", response_url=f"http://127.0.0.1:{closed_port()}/hook")
    assert r.status == 200
    assert slack.settle()
    assert sample("hardno_listener_errors_total", kind="command") - before == 1


def test_failed_web_api_calls_are_counted_by_method(slack, fake):
    before = sample("hardno_slack_api_errors_total", method="users.info")
    fake.fail("users.info", error="user_not_found")
    slack.deal("list", user="U2")  # the rep directory keeps going without the profile
    assert sample("hardno_slack_api_errors_total", method="users.info") - before == 1


def test_llm_time_and_fallbacks_are_measured(fake_ai):
    coach = Coach(LLMConfig(api_key="sk-test", base_url=fake_ai.base_url, model="gpt-5-mini", timeout=5,
                            max_retries=0))
    timed, refused = sample("hardno_llm_seconds_count"), sample("hardno_llm_fallbacks_total", reason="refused")
    fake_ai.refuse(times=1)
    d = coach.draft(CASES[0].s)
    assert d.source != "llm"
    assert sample("hardno_llm_fallbacks_total", reason="refused") - refused == 1
    assert sample("hardno_llm_seconds_count") - timed == 1
    fake_ai.fail(500, times=1)
    coach.draft(CASES[0].s)
    assert sample("hardno_llm_fallbacks_total", reason="http_error") >= 1


# -- one log line per request ---------------------------------------------------------------------------

@pytest.fixture
def json_log():
    """The app's log as HARDNO_LOG_FORMAT=json writes it, at INFO."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(old)


def test_one_json_line_per_request_with_no_token_or_message_text(slack, json_log):
    slack.deal("add Zanzibarco $9k note the CFO whispered a secret")
    slack.dm("Quuxly said maybe, the budget is frozen until spring")
    assert slack.settle()
    slack.fake.wait_for("chat.postMessage")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]  # every line is one object
    requests = [r for r in lines if r["logger"] == "hardno.request"]
    assert [(r["kind"], r["listener"], r["status"], r["outcome"]) for r in requests] == [
        ("command", "/deal", 200, "ok"), ("event", "message.im", 200, "ok")]
    assert all(r["ack_ms"] > 0 and r["team"] == "T1" and r["user"] == "U1" and r["level"] == "INFO"
               for r in requests)
    text = json_log.getvalue()
    for secret in ("Zanzibarco", "whispered", "Quuxly", "frozen", "xoxb-test", SECRET):
        assert secret not in text, secret


# -- acks never wait behind other listeners' work ---------------------------------------------------------

def test_acks_do_not_wait_for_listeners_still_busy_after_theirs(slack, fake):
    """Eight replies hang at the response_url, so eight listeners stay busy after acking. Bolt's own executor
    (5 threads) made the sixth request wait for its ack, then answered it 404 (dispatch_failed)."""
    release = threading.Event()
    fake.on_call = lambda call: release.wait(20) if call.method == "response_url" else None
    answers: list = []
    senders = [threading.Thread(target=lambda: answers.append(slack.command("help"))) for _ in range(8)]
    try:
        for t in senders:
            t.start()
        for t in senders:
            t.join(timeout=15)
        assert [r.status for r in answers] == [200] * 8
        assert max(r.seconds for r in answers) < 2.0, sorted(round(r.seconds, 2) for r in answers)
    finally:
        release.set()
        fake.on_call = None
    assert slack.settle()
    assert len(fake.calls_to("response_url")) == 8  # and every reply still went out
