"""Every scheduled post (digest, board, kudos) through the one delivery helper: never doubled, never lost.

The fake Slack can fail a post AFTER it went out (`after=True`: a 5xx, an ambiguous error, or a dropped
connection, so the bot can't know), and keeps what was posted per channel (`fake.messages`), which is
what a person would see. A "dead instance" is a claim made and never settled.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.metrics import REGISTRY
from bot.slack_client import Throttle
from handlers.board import run_boards
from handlers.delivery import LEASE, metadata_for
from tests.test_leaderboard import BOARD_TIME_NY, close, kudos, sweep, the_week_of_nov_16
from tests.test_nudger import NY, delivery, digests, local, stuck
from tests.test_nudger import sweep as sweep_digests

BOARD_PERIOD = "2026-11-16T05:00:00+00:00"  # the week of Nov 16 in New York, as the board's delivery key
NINE = local(NY, 2026, 11, 23, 9)
TODAY = "2026-11-23"


@pytest.fixture
def week_of_nov_16(slack, clock):
    return the_week_of_nov_16(slack, clock)


def in_channel(fake, channel: str) -> list[dict]:
    """The messages really posted in `channel` (whatever the bot was told)."""
    return list(fake.messages.get(channel, []))


def board_row(store) -> dict:
    with store.tx() as tx:
        return tx.delivery("board", "C1", BOARD_PERIOD)


# -- a post that went out although the bot was told otherwise ---------------------------------------------

def test_a_board_whose_connection_dropped_after_posting_is_posted_once(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY)
    unknown_before = REGISTRY.get_sample_value("hardno_deliveries_total", {"kind": "board", "outcome": "unknown"})
    fake.fail("chat.postMessage", drop=True, after=True)
    sweep(slack)
    assert len(in_channel(fake, "C1")) == 1
    assert REGISTRY.get_sample_value("hardno_deliveries_total",
                                     {"kind": "board", "outcome": "unknown"}) == (unknown_before or 0.0) + 1
    assert len(fake.calls_to("chat.postMessage")) == 1  # no automatic retry of a post on a connection error
    assert board_row(store)["state"] == "unknown"
    for minutes in (5, 10, 60):
        clock.set(BOARD_TIME_NY + timedelta(minutes=minutes))
        sweep(slack)
    [board] = in_channel(fake, "C1")
    row = board_row(store)
    # The next sweep looked for it in the channel (its own metadata) and found it: sent, with its ts.
    assert (row["state"], row["ts"], row["channel"]) == ("sent", board["ts"], "C1")
    assert board["metadata"] == metadata_for("board", "C1", BOARD_PERIOD)


@pytest.mark.parametrize("failure", [{"status": 500}, {"error": "fatal_error"}, {"drop": True}])
def test_a_board_that_may_have_posted_is_never_posted_again(week_of_nov_16, fake, clock, store, failure):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY)
    fake.fail("chat.postMessage", after=True, **failure)
    sweep(slack)
    clock.set(BOARD_TIME_NY + timedelta(minutes=5))
    sweep(slack)
    assert len(in_channel(fake, "C1")) == 1 and len(fake.calls_to("chat.postMessage")) == 1
    assert board_row(store)["state"] == "sent"  # found in the channel


def test_kudos_whose_connection_dropped_after_posting_are_not_cheered_twice(slack, fake, clock, store):
    slack.deal("settings board live on", user="U1")
    clock.advance(timedelta(seconds=10))
    close(slack, "U1", "Acme")
    clock.advance(timedelta(minutes=2))
    fake.fail("chat.postMessage", drop=True, after=True)
    kudos(slack)
    close(slack, "U2", "Initech")
    clock.advance(timedelta(minutes=2))
    kudos(slack)
    lines = [m["text"] for m in in_channel(fake, "C1")]
    assert lines == ["🎯 *Dana Scully* got a clear answer from a prospect today",
                     "🎯 *Ben Meyer* got a clear answer from a prospect today"]
    with store.tx() as tx:
        states = sorted(s for _, _, s in tx.deliveries("kudos"))
    assert states == ["sent", "sent"]  # the first one found in the channel


def test_kudos_that_may_have_posted_are_not_sent_again(slack, fake, clock, store):
    slack.deal("settings board live on", user="U1")
    clock.advance(timedelta(seconds=10))
    close(slack, "U1", "Acme")
    clock.advance(timedelta(minutes=2))
    fake.fail("chat.postMessage", error="fatal_error", after=True)
    kudos(slack)
    clock.advance(timedelta(minutes=2))
    kudos(slack)
    assert len(in_channel(fake, "C1")) == 1 and len(fake.calls_to("chat.postMessage")) == 1


def test_a_digest_whose_connection_dropped_after_posting_is_found_and_its_buttons_work(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(NINE)
    fake.fail("chat.postMessage", drop=True, after=True)
    assert [u for u, _ in sweep_digests(slack).unknown] == ["U1"]
    clock.set(NINE + timedelta(minutes=5))
    sweep_digests(slack)
    [digest] = in_channel(fake, "DU1")
    row = delivery(store, "U1", TODAY)
    assert (row["state"], row["channel"], row["ts"]) == ("sent", "DU1", digest["ts"])
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_a_board_posted_on_request_after_an_unsure_one_is_not_posted_twice(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY + timedelta(days=2))
    fake.fail("chat.postMessage", drop=True, after=True)
    first = run_boards(slack.app.services, slack.client, post=True, out=io.StringIO())
    assert first.failed and len(in_channel(fake, "C1")) == 1
    again = run_boards(slack.app.services, slack.client, post=True, out=io.StringIO())
    assert again.posted == [] and [c for c, _ in again.skipped] == ["C1"]
    assert len(in_channel(fake, "C1")) == 1 and len(fake.calls_to("chat.postMessage")) == 1
    third = run_boards(slack.app.services, slack.client, post=True, out=io.StringIO())  # asked for again: posted
    assert third.posted == ["C1"] and len(in_channel(fake, "C1")) == 2


# -- a claim whose instance died --------------------------------------------------------------------------

def dead_instance_claims(store, kind: str, target: str, period: str, at) -> None:
    with store.tx("T1") as tx:  # the demo workspace's claim
        assert tx.claim_delivery(kind, target, period, at)


def test_a_digest_claimed_by_a_dead_instance_is_sent_once_its_lease_ran_out(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(NINE)
    dead_instance_claims(store, "digest", "U1", TODAY, clock.now())
    clock.set(NINE + timedelta(minutes=5))  # the lease still runs: it may be posting right now
    assert sweep_digests(slack).already == ["U1"] and digests(fake) == []
    clock.set(NINE + LEASE + timedelta(minutes=1))
    assert sweep_digests(slack).sent == ["U1"]
    assert len(in_channel(fake, "DU1")) == 1 and len(digests(fake, "U1")) == 1
    assert fake.calls_to("conversations.history")  # it looked first
    row = delivery(store, "U1", TODAY)
    assert (row["state"], row["attempts"]) == ("sent", 2)
    clock.advance(LEASE * 3)
    sweep_digests(slack)
    assert len(in_channel(fake, "DU1")) == 1


def test_a_digest_the_dead_instance_did_post_is_recorded_sent_without_a_second_post(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(NINE)
    dead_instance_claims(store, "digest", "U1", TODAY, clock.now())
    posted = slack.client.chat_postMessage(channel="DU1", text="Your digest",  # ... and died right after
                                           metadata=metadata_for("digest", "U1", TODAY))
    clock.set(NINE + LEASE + timedelta(minutes=1))
    sweep_digests(slack)
    assert len(fake.calls_to("chat.postMessage")) == 1 and len(in_channel(fake, "DU1")) == 1
    row = delivery(store, "U1", TODAY)
    assert (row["state"], row["ts"]) == ("sent", posted["ts"])


def test_a_board_claimed_by_a_dead_instance_is_recovered(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY)
    dead_instance_claims(store, "board", "C1", BOARD_PERIOD, clock.now())
    sweep(slack)
    assert in_channel(fake, "C1") == []
    clock.set(BOARD_TIME_NY + LEASE + timedelta(minutes=1))
    sweep(slack)
    assert len(in_channel(fake, "C1")) == 1 and board_row(store)["state"] == "sent"


def test_a_board_the_dead_instance_did_post_is_not_posted_again(week_of_nov_16, fake, clock, store):
    slack = week_of_nov_16
    clock.set(BOARD_TIME_NY)
    dead_instance_claims(store, "board", "C1", BOARD_PERIOD, clock.now())
    posted = slack.client.chat_postMessage(channel="C1", text="board", metadata=metadata_for("board", "C1",
                                                                                              BOARD_PERIOD))
    clock.set(BOARD_TIME_NY + LEASE + timedelta(minutes=1))
    sweep(slack)
    assert len(in_channel(fake, "C1")) == 1
    assert (board_row(store)["state"], board_row(store)["ts"]) == ("sent", posted["ts"])


def test_a_recovery_that_cannot_look_posts_nothing_and_looks_again_later(slack, fake, clock, store):
    stuck(slack, clock, "U1", "Acme Corp")
    clock.set(NINE)
    dead_instance_claims(store, "digest", "U1", TODAY, clock.now())
    clock.set(NINE + LEASE + timedelta(minutes=1))
    fake.fail("conversations.history", error="ratelimited")
    sweep_digests(slack)
    assert digests(fake) == [] and delivery(store, "U1", TODAY)["state"] == "claimed"
    clock.advance(LEASE + timedelta(minutes=1))
    assert sweep_digests(slack).sent == ["U1"] and len(in_channel(fake, "DU1")) == 1


# -- no transaction held across a Slack call --------------------------------------------------------------

def test_no_transaction_stays_open_while_a_sweep_talks_to_slack(week_of_nov_16, fake, clock, store):
    if store.dialect != "postgresql":
        pytest.skip("pg_stat_activity is PostgreSQL's; on SQLite the sweep takes no lock at all")
    slack = week_of_nov_16
    stuck(slack, clock, "U1", "Acme Corp")
    slack.deal("settings board live on", user="U2")
    open_during_calls: list[tuple[str, int]] = []
    watcher = store.engine.connect()
    lock = threading.Lock()

    def idle_in_transaction() -> set:
        found = watcher.execute(text(
            "select pid, xact_start from pg_stat_activity where datname = current_database() "
            "and pid <> pg_backend_pid() and state like 'idle in transaction%'")).fetchall()
        watcher.rollback()
        return {tuple(r) for r in found}

    def look(call) -> None:  # every Web API call a sweep makes, posts and reads alike
        # Slack takes 0.2 s to answer: a transaction open before and after that wait spans the call (other
        # deliveries' claims, going on at the same moment, commit within it).
        with lock:
            before = idle_in_transaction()
            time.sleep(0.2)
            held = before & idle_in_transaction()
        open_during_calls.append((call.method, len(held)))

    def watched(run, *args):
        # Only the sweep's own connections may be seen: the listeners of the commands before it finish first.
        assert slack.settle()
        fake.on_call = look
        try:
            return run(*args)
        finally:
            fake.on_call = None

    try:
        clock.set(BOARD_TIME_NY)  # Monday 09:00 in New York: the board and dana's digest are due
        assert watched(sweep, slack).posted == ["C1"]
        assert watched(sweep_digests, slack).sent == ["U1"]
        close(slack, "U2", "Hooli")
        clock.advance(timedelta(minutes=2))
        assert watched(kudos, slack).posted == ["C1"]
    finally:
        watcher.close()
    assert [m for m, _ in open_during_calls].count("chat.postMessage") == 3
    assert [(m, n) for m, n in open_during_calls if n] == []


# -- fan-out within Slack's limits ------------------------------------------------------------------------

def test_digests_go_out_concurrently_each_once(slack, fake, clock, store):
    reps = [f"U{n}" for n in range(10, 18)]
    for user in reps:
        fake.add_user(user, user.lower(), tz=NY)
        stuck(slack, clock, user, f"Deal of {user}")
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def slow_post(call) -> None:  # Slack takes 0.3 s to answer each post
        if call.method == "chat.postMessage":
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            time.sleep(0.3)
            with lock:
                in_flight[0] -= 1

    fake.on_call = slow_post
    clock.set(NINE)
    report = sweep_digests(slack)
    fake.on_call = None
    assert report.sent == reps  # in the reps' order, whatever order they went out in
    assert sorted(c.params["channel"] for c in digests(fake)) == [f"D{u}" for u in reps]
    assert most[0] > 1  # posts overlapped in Slack: not one after another


def _stepped() -> tuple[list[float], dict]:
    """A throttle's clock that only its own sleeps move: what it waits is counted, never timed."""
    now = [0.0]
    return now, {"clock": lambda: now[0], "sleep": lambda s: now.__setitem__(0, now[0] + s)}


def test_the_throttle_keeps_each_channel_to_its_rate():
    now, time_of = _stepped()
    throttle = Throttle(tiers={}, per_channel=10.0, **time_of)  # a burst of 30, then 10 a second
    waited = sum(throttle.wait("chat.postMessage", "C1") for _ in range(40))
    assert waited == pytest.approx(1.0) and now[0] == pytest.approx(1.0)  # the 10 past the burst: 0.1 s each
    assert throttle.wait("chat.postMessage", "C2") == 0  # another channel has its own bucket
    assert throttle.wait("users.info") == 0  # a method without a tier is not held up


def test_the_throttle_keeps_a_tiered_method_to_its_tier():
    now, time_of = _stepped()
    throttle = Throttle(tiers={"conversations.history": 600}, **time_of)  # 10 a second, a burst of 30
    waited = sum(throttle.wait("conversations.history", "C1") for _ in range(35))
    assert waited == pytest.approx(0.5)


def test_a_workspace_cap_on_posts_allows_one_seconds_burst_not_three():
    now, time_of = _stepped()
    throttle = Throttle(tiers={}, per_channel=0, post_per_minute=600, **time_of)  # 10 posts a second
    waited = sum(throttle.wait("chat.postMessage", f"D{i}") for i in range(30))
    assert waited == pytest.approx(2.0)  # a burst of 10, then 0.1 s for each of the other 20
