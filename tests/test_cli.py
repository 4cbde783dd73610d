"""The `hardno` command line, run as users run it: a separate process, a clean environment,
a working directory of its own (so no stray `.env` is read).

INTERFACE.md: exit 0 on success; 2 on bad usage or configuration, with a one-line message on
stderr that says what to set or fix, never a bare traceback.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from slack_sdk.signature import SignatureVerifier

from tests.backends import create_pg_database
from tests.serving import env_for as clean_env
from tests.serving import free_port as _free_port
from tests.serving import get as _get

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = ["serve", "digest", "leaderboard", "db", "manifest", "try"]


@pytest.fixture
def hardno(tmp_path):
    def run(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=clean_env(**env),
                              capture_output=True, text=True, timeout=timeout)
    return run


def assert_usage_error(r: subprocess.CompletedProcess, *names: str) -> str:
    """Exit 2, exactly one line on stderr naming what to fix, no traceback; returns the line."""
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(lines) == 1, "expected one line on stderr, got:\n" + r.stderr
    for name in names:
        assert name in lines[0], f"{name!r} not named in: {lines[0]}"
    return lines[0]


TOKENS = {"SLACK_BOT_TOKEN": "xoxb-1-test", "SLACK_SIGNING_SECRET": "cli-test-secret"}


# -- help -------------------------------------------------------------------------------------------------

def test_help_lists_every_command(hardno):
    r = hardno("--help")
    assert r.returncode == 0, r.stderr
    for name in SUBCOMMANDS:
        assert name in r.stdout, f"`hardno --help` doesn't mention {name}"
    assert "Traceback" not in r.stderr


# -- bad configuration ------------------------------------------------------------------------------------

def test_serve_without_a_token_says_to_set_it_and_points_at_try(hardno):
    line = assert_usage_error(hardno("serve"), "SLACK_BOT_TOKEN")
    assert "hardno try" in line


def test_serve_http_without_a_signing_secret_names_it(hardno):
    assert_usage_error(hardno("serve", "--http", SLACK_BOT_TOKEN="xoxb-1-test"), "SLACK_SIGNING_SECRET")


def test_serve_with_a_user_token_instead_of_a_bot_token(hardno):
    assert_usage_error(hardno("serve", "--http", SLACK_BOT_TOKEN="xoxp-1-user", SLACK_SIGNING_SECRET="s"),
                       "SLACK_BOT_TOKEN", "xoxb-")


@pytest.mark.parametrize("hour", ["25", "-1", "nine"])
def test_a_bad_digest_hour_is_named(hardno, hour):
    assert_usage_error(hardno("serve", "--http", HARDNO_DIGEST_HOUR=hour, **TOKENS), "HARDNO_DIGEST_HOUR")


@pytest.mark.parametrize("cron", ["monday 9", "mon 25:00", "61 9 * * 1", "0 9 * *", "0 9 * * 1-5", "0 9 1 * *"])
def test_a_bad_leaderboard_schedule_is_named(hardno, cron):
    """Not a weekly time: a typo, a bad crontab line, or one that fires more or less than once a week."""
    assert_usage_error(hardno("serve", "--http", HARDNO_LEADERBOARD_CRON=cron, **TOKENS), "HARDNO_LEADERBOARD_CRON")


@pytest.mark.parametrize("cron, weekly", [
    ("mon 09:00", ("mon", 9, 0)), ("Fri  16:30", ("fri", 16, 30)),
    ("0 9 * * 1", ("mon", 9, 0)),  # crontab's numbering: 1 is Monday (APScheduler 3 alone would say Tuesday)
    ("30 16 * * fri", ("fri", 16, 30)), ("0 9 * * 0", ("sun", 9, 0)), ("0 9 * * 7", ("sun", 9, 0)),
    ("15 8 * * MON", ("mon", 8, 15))])
def test_the_leaderboard_schedule_takes_crontab_lines_too(hardno, tmp_path, cron, weekly):
    from bot.config import load_settings
    assert load_settings(_env_file=None, hardno_leaderboard_cron=cron).leaderboard_schedule == weekly
    r = hardno("db", "upgrade", HARDNO_LEADERBOARD_CRON=cron, DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}")
    assert r.returncode == 0, r.stderr


def test_bad_settings_fail_every_command_not_just_serve(hardno, tmp_path):
    assert_usage_error(hardno("db", "upgrade", HARDNO_DIGEST_HOUR="25",
                              DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"), "HARDNO_DIGEST_HOUR")


def test_a_nonsense_database_url_is_named(hardno):
    assert_usage_error(hardno("db", "upgrade", DATABASE_URL="nonsense"), "DATABASE_URL")


def test_an_unreachable_database_is_one_line(hardno):
    r = hardno("db", "upgrade", DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert_usage_error(r)


# -- bad usage --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["frobnicate"], ["serve", "--bogus"], ["serve", "--port", "http"],
                                  ["db"], ["db", "downgrade"], ["leaderboard", "--period", "year"]])
def test_bad_usage_is_one_line_and_exit_2(hardno, args):
    line = assert_usage_error(hardno(*args))
    assert line.startswith("hardno"), line


# -- hardno db upgrade ------------------------------------------------------------------------------------

def _expected_tables() -> set[str]:
    from storage.models import Base
    return set(Base.metadata.tables) | {"alembic_version"}


def test_db_upgrade_creates_the_sqlite_schema_and_is_idempotent(hardno, tmp_path):
    db = tmp_path / "data" / "hardno.db"
    url = f"sqlite:///{db}"

    def schema() -> tuple[set[str], list, list]:
        with sqlite3.connect(db) as conn:
            objects = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
            versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        return {name for kind, name, _ in objects if kind == "table"}, objects, versions

    first = hardno("db", "upgrade", DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    tables, objects, versions = schema()
    assert _expected_tables() <= tables, f"missing tables: {_expected_tables() - tables}"
    assert len(versions) == 1

    again = hardno("db", "upgrade", DATABASE_URL=url)
    assert again.returncode == 0, again.stderr
    assert schema() == (tables, objects, versions), "a second upgrade changed the schema"


def test_db_upgrade_uses_the_default_sqlite_file_in_the_working_directory(hardno, tmp_path):
    r = hardno("db", "upgrade")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "hardno.db").exists()


def test_db_upgrade_on_a_fresh_postgresql_database(hardno):
    url, drop = create_pg_database()
    try:
        for _ in range(2):  # and again: idempotent
            r = hardno("db", "upgrade", DATABASE_URL=url)
            assert r.returncode == 0, r.stderr
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            tables = {row[0] for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
            versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert _expected_tables() <= tables, f"missing tables: {_expected_tables() - tables}"
        assert len(versions) == 1
    finally:
        drop()


# -- hardno serve --http ----------------------------------------------------------------------------------

def _post(url: str, body: str, headers: dict) -> int:
    req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_serve_http_answers_health_and_slack_then_stops_cleanly_on_sigterm(tmp_path):
    from tests.fakeslack import FakeSlack
    port = _free_port()
    secret = TOKENS["SLACK_SIGNING_SECRET"]
    with FakeSlack() as fake:
        fake.add_user("U1", "dana", tz="America/New_York")
        env = clean_env(**TOKENS, SLACK_API_URL=fake.api_url, DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}")
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60  # a hang guard, not a timing assertion
            status, body = None, ""
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    status, body = _get(base + "/healthz")
                    break
                except OSError:
                    time.sleep(0.1)
            assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{proc.communicate()[1]}"
            assert status == 200, (status, body)
            health = json.loads(body)
            assert health["ok"] is True

            # The Slack endpoint is the real one: a signed /deal help is acked and answered...
            form = urllib.parse.urlencode({
                "token": "legacy", "team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/deal",
                "text": "help", "api_app_id": "A1", "response_url": fake.response_url("serve"),
                "trigger_id": "trig.1"})
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                       "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=form)}
            assert _post(base + "/slack/events", form, headers) == 200
            reply = fake.wait_for("response_url", timeout=30)[0].params
            assert "/deal" in json.dumps(reply)
            # ...and one signed with another secret is refused.
            headers["X-Slack-Signature"] = SignatureVerifier("wrong").generate_signature(timestamp=ts, body=form)
            assert _post(base + "/slack/events", form, headers) == 401
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
                pytest.fail(f"serve did not stop on SIGTERM:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "will be unused" not in err, err[-3000:]  # Bolt's token-vs-client notice: the same token


def test_serve_on_a_port_already_taken_exits_2_naming_it(tmp_path):
    from tests.fakeslack import FakeSlack
    with socket.socket() as taken, FakeSlack() as fake:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(**TOKENS, SLACK_API_URL=fake.api_url, DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}")
        r = subprocess.run([sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]  # startup logs come first; the error is the last line
    assert last.startswith("hardno: ") and str(port) in last and "--port" in last


# -- hardno digest --dry-run: reads only ------------------------------------------------------------------

def test_digest_dry_run_without_a_database_creates_none(hardno, tmp_path):
    r = hardno("digest", "--dry-run", "--now")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("digest: no database at hardno.db yet")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no hardno.db (nor -wal, -shm)


def _dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def test_digest_dry_run_with_a_token_records_nothing_and_asks_slack_nothing(hardno, tmp_path):
    """A rep whose cached zone is days old would have it refreshed (asked of Slack, saved) by a real run:
    a dry run prints with the cached zone and writes nothing."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from bot.clock import Clock
    from handlers.deal_log import DealLog
    from handlers.domain.model import Kind, Rep
    from storage import Store, upgrade
    from tests.fakeslack import FakeSlack
    db = tmp_path / "hardno.db"
    store = Store.from_url(f"sqlite:///{db}")
    upgrade(store.engine)
    now = datetime.now(UTC).replace(microsecond=0)
    with store.tx() as tx:
        tx.save_rep(Rep("U1", "T1", "Dana Scully", "Europe/Berlin", now - timedelta(days=3)))
    deal = DealLog(store, Clock.frozen_at(now - timedelta(days=20))).add("U1", "T1", "Acme Corp",
                                                                         amount=Decimal(12000), currency="USD")
    DealLog(store, Clock.frozen_at(now - timedelta(days=12))).log("U1", deal.id, Kind.MAYBE, "not now")
    store.dispose()
    before = _dump(db)
    with FakeSlack() as fake:
        fake.add_user("U1", "dana", tz="Asia/Kolkata")
        r = hardno("digest", "--dry-run", "--now", SLACK_BOT_TOKEN="xoxb-1", SLACK_API_URL=fake.api_url)
        calls = [c.method for c in fake.calls]
    assert r.returncode == 0, r.stderr
    assert "Acme Corp" in r.stdout and "Europe/Berlin" in r.stdout  # the cached zone
    assert "1 printed (dry run, nothing sent)" in r.stderr
    assert calls == []
    assert _dump(db) == before


def test_digest_user_must_be_a_member_id(hardno):
    line = assert_usage_error(hardno("digest", "--dry-run", "--user", "nobody"), "--user")
    assert "member id" in line and "has not used" not in line


# -- logs --------------------------------------------------------------------------------------------------

def test_scheduler_run_chatter_is_debug_and_a_failing_job_is_one_line(caplog):
    import logging
    import threading

    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.scheduler import Job, quiet_run_chatter, run_job
    quiet_run_chatter()
    ran = threading.Event()
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(ran.set, "date", id="probe")
    with caplog.at_level(logging.INFO):
        scheduler.start()
        try:
            assert ran.wait(10)
            scheduler.remove_all_jobs()
        finally:
            scheduler.shutdown(wait=True)
    said = [r for r in caplog.records if r.name == "apscheduler.executors.default" and r.levelno >= logging.INFO]
    assert said == [], [r.getMessage() for r in said]
    caplog.clear()

    def broken(services, client):
        raise ValueError("the store is gone\nsecond line")

    with caplog.at_level(logging.INFO):
        assert run_job(Job("digests", broken, timedelta(minutes=5)), None, None) is False
    [line] = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert line.levelno == logging.ERROR and line.exc_info is None
    assert line.getMessage() == "scheduled job digests failed: ValueError: the store is gone (the next run retries)"


# -- HARDNO_CLOCK_FILE (tests and rehearsals run serve at chosen times) ----------------------------------

@pytest.mark.parametrize("content", [None, "tomorrow-ish", "2026-11-30T14:30:00"])
def test_a_clock_file_without_an_aware_time_is_named(hardno, tmp_path, content):
    clock = tmp_path / "clock"
    if content is not None:
        clock.write_text(content)
    line = assert_usage_error(hardno("db", "upgrade", HARDNO_CLOCK_FILE=str(clock)), "HARDNO_CLOCK_FILE")
    assert str(clock) in line


def test_the_file_clock_reads_the_time_written_and_keeps_it_while_the_file_is_unreadable(tmp_path):
    from datetime import UTC, datetime, timedelta

    from bot.clock import FileClock, write_time_file
    path = tmp_path / "clock"
    write_time_file(path, datetime(2026, 11, 30, 9, 30, tzinfo=UTC))
    clock = FileClock(path)
    assert clock.now() == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    clock.advance(timedelta(minutes=11))  # writes the file: every process reading it moves too
    assert FileClock(path).now() == datetime(2026, 11, 30, 9, 41, tzinfo=UTC)
    path.write_text("")  # caught between two writes by another process
    assert clock.now() == datetime(2026, 11, 30, 9, 41, tzinfo=UTC)
