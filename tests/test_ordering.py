"""A rep's `/deal` commands take effect in the order they were sent, through signed HTTP on SQLite and
PostgreSQL, and on PostgreSQL also when two instances behind a load balancer get one each."""

from __future__ import annotations

import time

import pytest

from handlers.domain.model import Status
from tests.harness import SlackDriver
from tests.test_deal_command import deals_of, texts


def _send_50ms_apart(first: SlackDriver, second: SlackDriver, fake, a: str, b: str) -> list[dict]:
    before = len(fake.calls_to("response_url"))
    assert first.command(a).status == 200
    time.sleep(0.05)
    assert second.command(b).status == 200
    return [c.params for c in fake.wait_for("response_url", count=before + 2, timeout=20)[before:]]


def test_add_then_won_50ms_later_ends_won_even_when_the_add_is_slow(slack, store, fake):
    # The rep's first command looks them up in Slack, and users.info is rate limited: the add waits a second.
    fake.fail("users.info", 429, retry_after=1)
    replies = _send_50ms_apart(slack, slack, fake, "add Initech $5k", "won initech")
    [deal] = deals_of(store)
    assert deal.status is Status.WON, [texts(r) for r in replies]
    assert "No deal" not in texts(replies[1])


def test_commands_sent_to_two_instances_are_applied_in_order(slack, store, fake, clock):
    if store.dialect != "postgresql":
        pytest.skip("several instances share PostgreSQL; SQLite is one process")
    other = SlackDriver(store, clock, fake)
    try:
        fake.fail("users.info", 429, retry_after=1)
        replies = _send_50ms_apart(slack, other, fake, "add Initech $5k", "won initech")
        [deal] = deals_of(store)
        assert deal.status is Status.WON, [texts(r) for r in replies]
    finally:
        other.close()


def test_a_command_whose_predecessor_never_finishes_goes_ahead_after_the_patience(store):
    from bot.ordering import Arrivals
    arrivals = Arrivals(store, patience=0.3)
    arrivals.ticket("T1:U1")  # taken, never run (its listener died before its turn)
    late = arrivals.ticket("T1:U1")
    start = time.monotonic()
    with late:
        waited = time.monotonic() - start
    assert 0.25 <= waited < 5
    with arrivals.ticket("T1:U1"):  # and the line moves on after it, without waiting again
        assert time.monotonic() - start - waited < 0.25


def test_turns_run_in_ticket_order_whatever_order_their_threads_start(store):
    from bot.ordering import Arrivals
    from tests.racing import race
    arrivals = Arrivals(store)
    turns = [arrivals.ticket("T1:U1") for _ in range(6)]
    other = arrivals.ticket("T1:U2")  # another rep's line is not held up by U1's
    ran: list[int] = []

    def run(i: int) -> None:
        time.sleep(0.02 * (6 - i))  # the last ticket's thread gets there first
        with turns[i]:
            ran.append(i)

    with other:
        pass
    assert race(run, [(i,) for i in range(6)]) == []
    assert ran == list(range(6))


def test_across_instances_a_stuck_holder_delays_the_next_command_only_by_the_patience(store):
    if store.dialect != "postgresql":
        pytest.skip("the cross-instance lock is PostgreSQL's")
    import threading
    held, release = threading.Event(), threading.Event()

    def stuck_instance() -> None:
        with store.serialized("rep:T1:U1"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=stuck_instance)
    holder.start()
    try:
        assert held.wait(10)
        start = time.monotonic()
        with store.serialized("rep:T1:U1", patience=0.3):
            waited = time.monotonic() - start
        assert 0.25 <= waited < 5
        start = time.monotonic()
        with store.serialized("rep:T1:U2", patience=5):  # another rep's lock is free
            assert time.monotonic() - start < 1
    finally:
        release.set()
        holder.join(10)
    from sqlalchemy import create_engine

    from storage import Store
    single = Store(create_engine(store.engine.url, pool_size=1, max_overflow=0))  # the same connection again
    try:
        with single.serialized("rep:T1:U1", patience=0.3):
            pass
        with single.engine.connect() as conn:  # it went back to the pool without our lock_timeout
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "0"
    finally:
        single.dispose()
