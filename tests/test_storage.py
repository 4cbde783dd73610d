"""The storage layer on SQLite and PostgreSQL: persistence, privacy, exactly-once claims, concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from handlers.domain.model import Activity, Kind, Rep, Source, Status, new_deal, replay
from storage import upgrade
from tests.harness import TEAM


def _add(store, clock, owner="U1", company="Acme", **fields):
    deal, first = new_deal(owner, company, clock.now(), **fields)
    with store.tx() as tx:
        return tx.add_deal(deal, first)


def test_deal_round_trips_with_its_history(store, clock):
    deal = _add(store, clock, company="Müller GmbH 🚀 <!channel> *bold*", amount=Decimal("12000.50"),
                currency="EUR", contact="Jo", stage="consensus")
    clock.advance(timedelta(days=1))
    meet = clock.now() + timedelta(days=3)
    with store.tx() as tx:
        tx.record("U1", deal.id, Activity(Kind.MAYBE, clock.now(), "send me info"))
        tx.record("U1", deal.id, Activity(Kind.TOUCH, clock.now() + timedelta(hours=1), "vm"))
        tx.record("U1", deal.id, Activity(Kind.MEETING, clock.now() + timedelta(hours=2), when=meet,
                                          source=Source.BUTTON))
    with store.tx() as tx:
        got = tx.deal("U1", deal.id)
        hist = tx.history("U1", deal.id)
    assert got.company == "Müller GmbH 🚀 <!channel> *bold*"  # stored verbatim
    assert got.amount == Decimal("12000.50") and got.currency == "EUR"
    assert got.status is Status.OPEN and got.maybe_count == 1 and got.touch_count == 1
    assert got.touches_since_answer == 0 and got.next_meeting_at == meet
    assert got.next_meeting_at.tzinfo is not None
    assert [a.kind for a in hist] == [Kind.ADDED, Kind.MAYBE, Kind.TOUCH, Kind.MEETING]
    assert hist[-1].source is Source.BUTTON
    # the stored projection equals a replay of the stored history
    fresh, _ = new_deal("U1", got.company, deal.created_at, amount=got.amount, currency="EUR",
                        contact="Jo", stage="consensus")
    rebuilt = replay(fresh, hist)
    for field in ("maybe_count", "touch_count", "touches_since_answer", "next_meeting_at", "last_answer_at"):
        assert getattr(rebuilt, field) == getattr(got, field), field


def test_a_rep_never_reaches_another_reps_deal(store, clock):
    mine = _add(store, clock, owner="U1", company="Acme")
    with store.tx() as tx:
        assert tx.deal("U2", mine.id) is None
        assert tx.record("U2", mine.id, Activity(Kind.WON, clock.now())) is None
        assert tx.history("U2", mine.id) == []
        assert tx.deals("U2") == [] and tx.companies("U2") == []
    with store.tx() as tx:
        assert tx.deal("U1", mine.id).status is Status.OPEN  # untouched


def test_closing_and_listing_by_status(store, clock):
    a, b = _add(store, clock, company="Acme"), _add(store, clock, company="Globex")
    with store.tx() as tx:
        tx.record("U1", a.id, Activity(Kind.NO, clock.now(), "went with a competitor"))
    with store.tx() as tx:
        assert [d.company for d in tx.deals("U1")] == ["Globex"]
        closed = tx.deals("U1", [Status.NO])
        assert closed[0].close_reason == "went with a competitor" and closed[0].closed_at == clock.now()
        assert [d.id for d in tx.closed_between(clock.now(), clock.now() + timedelta(seconds=1))] == [a.id]
        assert sorted(tx.companies("U1")) == [(a.id, "Acme", False), (b.id, "Globex", True)]


def test_a_failed_transaction_loses_nothing_already_stored(store, clock):
    deal = _add(store, clock)
    try:
        with store.tx() as tx:
            tx.record("U1", deal.id, Activity(Kind.WON, clock.now()))
            raise RuntimeError("boom in the middle of an action")
    except RuntimeError:
        pass
    with store.tx() as tx:
        assert tx.deal("U1", deal.id).status is Status.OPEN
        assert [a.kind for a in tx.history("U1", deal.id)] == [Kind.ADDED]


def test_event_ids_are_claimed_once(store, clock):
    with store.tx() as tx:
        assert tx.first_delivery_of_event("Ev1", clock.now()) is True
    with store.tx() as tx:
        assert tx.first_delivery_of_event("Ev1", clock.now()) is False
        assert tx.first_delivery_of_event("Ev2", clock.now()) is True


def test_delivery_claims_are_exactly_once_and_failed_ones_retry(store, clock):
    now = clock.now()
    with store.tx(TEAM) as tx:
        assert tx.claim_delivery("digest", "U1", "2026-11-23", now)
    with store.tx(TEAM) as tx:
        assert not tx.claim_delivery("digest", "U1", "2026-11-23", now)
        assert tx.claim_delivery("digest", "U1", "2026-11-24", now)
        tx.finish_delivery("digest", "U1", "2026-11-23", now, ok=False, error="500")
    with store.tx(TEAM) as tx:
        assert tx.claim_delivery("digest", "U1", "2026-11-23", now)  # failed: may try again
        tx.finish_delivery("digest", "U1", "2026-11-23", now, ok=True, channel="D1", ts="1.0")
    with store.tx(TEAM) as tx:
        assert not tx.claim_delivery("digest", "U1", "2026-11-23", now)
        assert tx.delivery_state("digest", "U1", "2026-11-23") == "sent"


def test_racing_claims_from_many_threads_have_one_winner(store, clock):
    wins, errors = [], []
    barrier = threading.Barrier(8)

    def claim():
        try:
            barrier.wait()
            with store.tx(TEAM) as tx:
                if tx.claim_delivery("board", "C1", "2026-11-16", clock.now()):
                    wins.append(1)
        except Exception as e:  # "database is locked" would land here
            errors.append(e)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and len(wins) == 1


def test_concurrent_writers_never_see_database_is_locked(store, clock):
    deal = _add(store, clock)
    errors = []

    def touch(i):
        try:
            for _ in range(10):
                with store.tx() as tx:
                    tx.record("U1", deal.id, Activity(Kind.TOUCH, clock.now(), f"t{i}"))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=touch, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with store.tx() as tx:
        assert tx.deal("U1", deal.id).touch_count == 60  # no lost update


def test_a_read_transaction_blocks_no_writer(store, clock):
    """The morning plan reads for seconds; on SQLite that must not hold the write lock meanwhile (clicks,
    claims and /deal go on), and on PostgreSQL the transaction is READ ONLY, so a write fails loudly."""
    deal = _add(store, clock)
    with store.read() as reading:
        assert [d.id for d in reading.deals("U1")] == [deal.id]
        with store.tx() as tx:  # with the write lock held by the reader this would wait, then fail
            tx.record("U1", deal.id, Activity(Kind.TOUCH, clock.now(), "called"))
        assert reading.count("deals") == 1
    with store.tx() as tx:
        assert tx.deal("U1", deal.id).touch_count == 1
    if store.dialect == "postgresql":
        import pytest
        from sqlalchemy.exc import InternalError
        with pytest.raises(InternalError, match="read-only transaction"), store.read() as reading:
            reading.record("U1", deal.id, Activity(Kind.TOUCH, clock.now(), "not here"))


def test_reps_and_channels_persist_settings(store, clock):
    from handlers.domain.model import ChannelSettings
    with store.tx() as tx:
        tx.save_rep(Rep("U1", "T1", "Dana", "Asia/Kolkata", clock.now(), digest_hour=8))
        tx.save_channel(ChannelSettings("C1", "T1", details=True))
    with store.tx() as tx:
        tx.save_rep(tx.rep("U1").replace(digest_weekends=True))
    with store.tx() as tx:
        rep = tx.rep("U1")
        assert (rep.tz, rep.digest_hour, rep.digest_weekends, rep.tz_checked_at) == (
            "Asia/Kolkata", 8, True, clock.now())
        assert tx.channel("C1").details is True and tx.channel("C2") is None


def test_upgrade_is_idempotent(store):
    upgrade(store.engine)  # already at head: a second run changes nothing and does not fail
    with store.tx() as tx:
        assert tx.count("deals") == 0


def test_a_failed_fetch_reaches_the_reader_after_the_rows_before_it():
    """The scan's read-ahead thread hands a failure (a dropped connection, say) to the reader, in order."""
    import pytest

    from storage.planning import _fetched_ahead
    batches = iter([[1, 2], [3]])

    def fetch():
        batch = next(batches, None)
        if batch is None:
            raise ConnectionError("server closed the connection")
        return batch

    got = []
    with pytest.raises(ConnectionError, match="server closed"):
        for batch in _fetched_ahead(fetch):
            got += batch
    assert got == [1, 2, 3]


@pytest.fixture
def pg_store(store):
    if store.dialect != "postgresql":
        pytest.skip("EXPLAIN plans are PostgreSQL's")
    return store


def _plan_of(store, call) -> str:
    """PostgreSQL's plan for the one statement `call(tx)` runs, with the parameters it ran with."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        with store.read() as tx:
            call(tx)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    [(statement, parameters)] = [s for s in seen if s[0].lstrip().upper().startswith("SELECT")]
    with store.engine.connect() as conn:
        raw = conn.connection.driver_connection
        return "\n".join(r[0] for r in raw.execute("EXPLAIN " + statement, parameters).fetchall())


def test_the_closed_deals_query_uses_its_index_on_postgresql(pg_store, clock):
    """A year of an org's deals, nearly all open: last week's closed ones come from ix_deals_status_closed_at
    entered by status, not a scan of every deal (`status != 'open'` can't seek the index; `IN (...)` can)."""
    now = clock.now()
    with pg_store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO deals (owner_id, team_id, company, status, created_at, closed_at, maybe_count, "
            "touch_count, touches_since_answer) "
            "SELECT 'U' || (i % 500), 'T1', 'Co ' || i, CASE WHEN i % 50 = 0 THEN 'won' ELSE 'open' END, "
            ":now - make_interval(hours => i % 8760), "
            "CASE WHEN i % 50 = 0 THEN :now - make_interval(hours => i % 8760) END, 0, 0, 0 "
            "FROM generate_series(1, 50000) AS i"), {"now": now})
        conn.execute(text("ANALYZE deals"))
    week = (now - timedelta(days=7), now)
    plan = _plan_of(pg_store, lambda tx: tx.closed_between(*week))
    # The index is entered by status, its leading column: a condition on closed_at alone (with status a
    # filter) walks the whole index, every open deal included, and on a bigger table becomes a Seq Scan.
    [cond] = [line for line in plan.splitlines() if "Index Cond" in line]
    assert "ix_deals_status_closed_at" in plan and "Seq Scan" not in plan, plan
    assert "status" in cond and "closed_at" in cond, plan
    with pg_store.read() as tx:
        found = tx.closed_between(*week)
    assert found and all(d.status is Status.WON and week[0] <= d.closed_at < week[1] for d in found)
