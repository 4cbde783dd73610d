"""Shared fixtures: a migrated database on each backend, and a settable clock."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.clock import Clock
from storage import Store, upgrade
from storage.models import Base
from tests.backends import create_pg_database

BACKENDS = ["sqlite", "postgresql"]
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
# Settings read the environment: a developer's own tokens or keys must never reach a test.
FOREIGN_ENV = ("SLACK_", "OPENAI_", "HARDNO_", "DATABASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
               "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Every test: loopback only (Slack and OpenAI are fakes on 127.0.0.1), no inherited settings."""
    import os
    for var in [v for v in os.environ if v.startswith(FOREIGN_ENV)]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            raise AssertionError(f"test tried to reach {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def _openai_server():
    from tests.fakeopenai import FakeOpenAI
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_ai(_openai_server):
    """A fake OpenAI-compatible server on loopback, reset for each test."""
    _openai_server.reset()
    _openai_server.clear()
    yield _openai_server
    _openai_server.reset()


@pytest.fixture(scope="session")
def _engines(tmp_path_factory):
    """One migrated database per backend for the whole run, created on first use."""
    made, drops = {}, []

    def get(backend: str) -> Store:
        if backend not in made:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hardno.db'}"
            else:
                url, drop = create_pg_database()
                drops.append(drop)
            store = Store.from_url(url)
            upgrade(store.engine)
            made[backend] = store
        return made[backend]

    yield get
    for store in made.values():
        store.dispose()
    for drop in drops:
        drop()


def _empty(store: Store) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(params=BACKENDS)
def store(request, _engines) -> Store:
    """An empty, migrated database: the test runs once on SQLite and once on PostgreSQL."""
    s = _engines(request.param)
    _empty(s)
    return s


@pytest.fixture
def clock() -> Clock:
    """Frozen at Monday 2026-11-23 10:00 UTC unless a test moves it."""
    return Clock.frozen_at(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))


@pytest.fixture
def fake():
    """A fake Slack Web API on loopback, recording every call; fails the test on invalid Block Kit."""
    from tests.fakeslack import FakeSlack
    from tests.harness import people
    with FakeSlack() as f:
        people(f)
        yield f
        f.assert_no_block_errors()


@pytest.fixture
def slack(store, clock, fake):
    """The real app behind its HTTP runner, on each database backend."""
    from tests.harness import SlackDriver
    driver = SlackDriver(store, clock, fake)
    yield driver
    driver.close()
