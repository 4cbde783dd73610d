"""The store, and `Tx`: one transaction, i.e. one user action, with every query on it.

The queries live in modules named for what they are about (`storage.reps`, `storage.deals`,
`storage.channels`, `storage.events`, `storage.proposals`, shared helpers in `storage.base`, row mapping
in `storage.rows`); `Tx` composes them, so callers only ever see `tx.<intention-revealing name>`.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from decimal import Decimal
from typing import get_type_hints

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from handlers.domain import model as m
from handlers.domain.stalls import DealRow
from storage import models as t
from storage import rows
from storage.channels import ChannelQueries
from storage.db import connect
from storage.deals import DealQueries
from storage.events import EventQueries
from storage.privacy import PrivacyQueries
from storage.proposals import ProposalQueries
from storage.reps import RepQueries

_ROW_TIMES = frozenset(i for i, name in enumerate(DealRow._fields)
                       if "datetime" in str(get_type_hints(DealRow)[name]))  # DealRow's time columns
_to, _deal, _REP_FIELDS = rows.to, rows.deal, rows.REP_FIELDS  # for the delivery queries below


class Store:
    """The database behind hardno. Thread-safe: each `tx()` has its own session."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._reads = sessionmaker(engine.execution_options(hardno_read_only=True), expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(connect(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._sessions.begin() as session:
            yield Tx(session)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A transaction that only reads, for long ones like the morning plan: on SQLite it takes no write
        lock (WAL readers never block the writer, so clicks and claims go on meanwhile); on PostgreSQL it is
        READ ONLY, so a write slipped in by mistake fails loudly."""
        with self._reads.begin() as session:
            if self.dialect == "postgresql":
                session.execute(text("SET TRANSACTION READ ONLY"))
            yield Tx(session)

    @contextmanager
    def serialized(self, name: str, patience: float = 30.0) -> Iterator[None]:
        """One holder of `name` at a time across every process on this database; the others queue in the
        order they asked (PostgreSQL's advisory lock, on a connection of its own, so no transaction stays
        open meanwhile). After `patience` seconds a waiter goes ahead without it. SQLite is one host: the
        caller's own in-process order is all there is."""
        if self.dialect != "postgresql":
            yield
            return
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        with self.engine.connect() as conn:
            conn.execute(text("SELECT set_config('lock_timeout', :t, false)"), {"t": f"{int(patience * 1000)}ms"})
            try:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                got = True
            except OperationalError:  # lock_timeout: the holder is stuck; go ahead (a rollback undoes the SET)
                got = False
                conn.rollback()
            conn.commit()
            try:
                yield
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.execute(text("RESET lock_timeout"))  # the connection goes back to the pool as it came
                conn.commit()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


class Tx(RepQueries, DealQueries, ChannelQueries, EventQueries, ProposalQueries, PrivacyQueries):
    """One transaction: every group of queries, on one session (see `storage.base.TxBase`)."""

    # -- scheduled deliveries ----------------------------------------------
    def claim_delivery(self, kind: str, target: str, period: str, now: datetime) -> bool:
        """Claim the right to send (kind, target, period). Exactly one claimer wins;
        a delivery that failed before may be claimed again."""
        if self._insert_once(t.Delivery, {"kind": kind, "target": target, "period": period,
                                          "state": "claimed", "claimed_at": now, "attempts": 1}):
            return True
        res = self.s.execute(update(t.Delivery).where(
            t.Delivery.kind == kind, t.Delivery.target == target, t.Delivery.period == period,
            t.Delivery.state == "failed").values(state="claimed", claimed_at=now,
                                                 attempts=t.Delivery.attempts + 1))
        return res.rowcount == 1

    def finish_delivery(self, kind: str, target: str, period: str, now: datetime, *, ok: bool,
                        channel: str | None = None, ts: str | None = None, error: str | None = None) -> None:
        self.s.execute(update(t.Delivery).where(
            t.Delivery.kind == kind, t.Delivery.target == target, t.Delivery.period == period)
            .values(state="sent" if ok else "failed", sent_at=now if ok else None,
                    channel=channel, ts=ts, error=error))

    def delivery_state(self, kind: str, target: str, period: str) -> str | None:
        return self.s.scalar(select(t.Delivery.state).where(
            t.Delivery.kind == kind, t.Delivery.target == target, t.Delivery.period == period))

    def deliveries(self, kind: str) -> list[tuple[str, str, str]]:
        """(target, period, state) of every delivery of `kind`."""
        q = select(t.Delivery.target, t.Delivery.period, t.Delivery.state).where(t.Delivery.kind == kind)
        return [tuple(r) for r in self.s.execute(q)]

    def try_lock(self, name: str) -> bool:
        """A transaction-scoped lock so one sweep runs at a time across hosts (PostgreSQL).
        SQLite's BEGIN IMMEDIATE already serialises writers on one host."""
        if self.s.bind.dialect.name != "postgresql":
            return True
        key = int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "big", signed=True)
        return bool(self.s.scalar(text("select pg_try_advisory_xact_lock(:k)"), {"k": key}))

    # -- leaderboard --------------------------------------------------------
    def deal_owners_among(self, user_ids: Iterable[str]) -> set[str]:
        """Which of `user_ids` have logged at least one deal: the reps a channel's board lists."""
        found: set[str] = set()
        for chunk in self._chunks(user_ids):
            found.update(self.s.scalars(select(t.Deal.owner_id).where(t.Deal.owner_id.in_(chunk)).distinct()))
        return found

    def reps_among(self, user_ids: Iterable[str]) -> list[m.Rep]:
        reps: list[m.Rep] = []
        for chunk in self._chunks(user_ids):
            reps += [_to(m.Rep, r, _REP_FIELDS) for r in self.s.scalars(select(t.Rep).where(t.Rep.user_id.in_(chunk)))]
        return reps

    def closed_by(self, owners: Iterable[str], start: datetime, end: datetime) -> list[m.Deal]:
        """Deals of `owners` closed out in [start, end), however many owners there are."""
        deals: list[m.Deal] = []
        for chunk in self._chunks(owners):
            deals += self.closed_between(start, end, chunk)
        return deals

    def last_board_sent(self, channel_id: str) -> datetime | None:
        """When a scheduled board last went out to the channel (or was settled as empty)."""
        return self.s.scalar(select(func.max(t.Delivery.sent_at)).where(
            t.Delivery.kind == "board", t.Delivery.target == channel_id, t.Delivery.state == "sent"))


    # -- nudger -------------------------------------------------------------
    # Planning every rep's morning digest is set-based: a few whole-org queries (thresholds, two
    # median aggregates, one streamed scan of the open deals), never one query per rep or per deal.

    def workspace_thresholds(self) -> dict[str, dict]:
        """{team_id: that workspace's overrides of the nudger's thresholds}, for workspaces that set any."""
        q = select(t.Workspace.team_id, t.Workspace.thresholds).where(t.Workspace.thresholds.is_not(None))
        return {team: th for team, th in self.s.execute(q) if isinstance(th, dict)}

    def open_deals_for_digest(self, owners: Iterable[str] | None, now: datetime,
                              batch: int = 5000) -> Iterator[DealRow]:
        """Open deals of `owners` (None: everyone's) not snoozed at `now`, as the rules read them, ordered
        by owner then id, and streamed `batch` rows at a time: memory stays flat however many there are.

        The hot path of the morning plan (a million deals), so it reads through the driver's own cursor
        (a server-side one on PostgreSQL) and builds tuples, not ORM objects; in this transaction."""
        cols = ", ".join(DealRow._fields)
        raw = self.s.connection().connection.driver_connection
        owner_list = None if owners is None else sorted(set(owners))
        make = DealRow._make
        if self.s.bind.dialect.name == "postgresql":
            self._roomy()
            # Grouping needs equal owners together, not a linguistic order: COLLATE "C" sorts by bytes.
            sql = (f"SELECT {cols} FROM deals WHERE status = 'open' "
                   "AND (snoozed_until IS NULL OR snoozed_until <= %(now)s)"
                   + ("" if owner_list is None else " AND owner_id = ANY(%(owners)s)")
                   + ' ORDER BY owner_id COLLATE "C", id')
            with raw.cursor(name="hardno_digest_scan", binary=True) as cur:
                cur.execute(sql, {"now": now, "owners": owner_list})
                for rows in _fetched_ahead(lambda: cur.fetchmany(batch)):
                    yield from map(make, rows)
            return
        # SQLite: times are naive UTC text (see models.UTCDateTime), amounts REAL.
        when = _ROW_TIMES
        amount = DealRow._fields.index("amount")
        select_list = ", ".join(f"{c} || '+00:00'" if i in when else c for i, c in enumerate(DealRow._fields))
        sql = (f"SELECT {select_list} FROM deals WHERE status = 'open' "
               "AND (snoozed_until IS NULL OR snoozed_until <= :now)"
               + ("" if owner_list is None else " AND owner_id IN (SELECT value FROM json_each(:owners))")
               + " ORDER BY owner_id, id")
        cur = raw.cursor()
        try:
            cur.execute(sql, {"now": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                              "owners": None if owner_list is None else json.dumps(owner_list)})
            parse, when_cols = datetime.fromisoformat, sorted(when)  # text + '+00:00': aware, tzinfo=UTC
            while rows := cur.fetchmany(batch):
                for row in rows:
                    values = list(row)
                    for i in when_cols:
                        if values[i] is not None:
                            values[i] = parse(values[i])
                    if values[amount] is not None:
                        values[amount] = Decimal(f"{values[amount]:.2f}")
                    yield make(values)
        finally:
            cur.close()

    def median_amounts(self, owners: Iterable[str] | None) -> dict[str, dict[str | None, Decimal]]:
        """{rep: {currency (None: none given): the median amount of their deals in it}}, over all their deals
        with an amount, open or closed."""
        q = (select(t.Deal.owner_id.label("owner"), t.Deal.currency.label("currency"), t.Deal.amount.label("v"))
             .where(t.Deal.amount.is_not(None)))
        if owners is not None:
            q = q.where(self._among(t.Deal.owner_id, owners))
        found: dict[str, dict[str | None, Decimal]] = {}
        # Grouped in the database's own order, the order of ix_deals_owner_amount: no sort of every deal.
        for owner, currency, v, _n in self._medians(q.subquery(), ["owner", "currency"], bytewise=False):
            found.setdefault(owner, {})[currency] = Decimal(str(round(float(v), 2)))
        return found

    def median_stage_days(self, owners: Iterable[str] | None) -> dict[str, dict[str, tuple[float, int]]]:
        """{rep: {stage: (median days spent in it, how many stints)}} over the stints that ended: a stage
        left for another (`stage` activities) and the last stage of a closed-out deal."""
        from sqlalchemy import union_all
        d, a = t.Deal, t.Activity
        final = (select(d.owner_id.label("owner"), d.stage.label("stage"), self._days(d.stage_since, d.closed_at))
                 .where(d.status != m.Status.OPEN.value, d.stage.is_not(None), d.stage != "",
                        d.stage_since.is_not(None), d.closed_at >= d.stage_since))
        changes = (select(d.owner_id.label("owner"), a.text.label("stage"), a.at.label("start"),
                          func.lead(a.at).over(partition_by=a.deal_id, order_by=(a.at, a.id)).label("end"))
                   .join(d, d.id == a.deal_id).where(a.kind == m.Kind.STAGE.value))
        if owners is not None:
            final = final.where(self._among(d.owner_id, owners))
            changes = changes.where(self._among(d.owner_id, owners))
        c = changes.subquery()
        between = (select(c.c.owner, c.c.stage, self._days(c.c.start, c.c.end))
                   .where(c.c.end.is_not(None), c.c.stage != ""))
        found: dict[str, dict[str, tuple[float, int]]] = {}
        for owner, stage, v, n in self._medians(union_all(final, between).subquery(), ["owner", "stage"]):
            found.setdefault(owner, {})[stage] = (float(v), int(n))
        return found

    def settled_deliveries(self, kind: str, wanted: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of the (target, period) pairs, those that need no more work: sent, being sent right now, or
        settled otherwise (empty, in doubt, given up). A failed one is not settled: it may be tried again."""
        wanted = set(wanted)
        periods: dict[str, set[str]] = {}
        for target, period in wanted:
            periods.setdefault(target, set()).add(period)
        found: set[tuple[str, str]] = set()
        for chunk in self._chunks(periods):
            q = select(t.Delivery.target, t.Delivery.period).where(
                t.Delivery.kind == kind, t.Delivery.target.in_(chunk),
                t.Delivery.period.in_(sorted(set().union(*(periods[c] for c in chunk)))),
                t.Delivery.state != "failed")
            found.update((target, period) for target, period in self.s.execute(q))
        return found & wanted

    def settle_delivery(self, kind: str, target: str, period: str, now: datetime, state: str, *,
                        channel: str | None = None, ts: str | None = None, error: str | None = None) -> None:
        """Close a claimed delivery with a `state` of the caller's (e.g. "empty", "unknown"); like a
        sent one, it is never claimed again. `sent_at` is when it was settled."""
        self.s.execute(update(t.Delivery).where(
            t.Delivery.kind == kind, t.Delivery.target == target, t.Delivery.period == period)
            .values(state=state, sent_at=now, channel=channel, ts=ts, error=error))

    def mark_delivery(self, kind: str, target: str, channel: str, ts: str, key: str,
                      mark: dict) -> tuple[int, dict] | None:
        """Record `mark` under `key` on the delivery of `target` posted as (channel, ts), replacing that key's
        earlier mark; (version, every mark) after it, or None when no such delivery exists. Concurrent markers
        queue on the row (FOR UPDATE on PostgreSQL, the write lock on SQLite), so none is lost."""
        row = self.s.scalars(select(t.Delivery).where(*_posted_as(kind, target, channel, ts))
                             .with_for_update()).first()
        if row is None:
            return None
        old = row.marks or {}
        lines = {**(old.get("lines") or {}), key: mark}
        version = int(old.get("v") or 0) + 1
        row.marks = {"v": version, "lines": lines}
        return version, lines

    def delivery_marks(self, kind: str, target: str, channel: str, ts: str) -> tuple[int, dict] | None:
        """(version, marks) of the delivery posted as (channel, ts), as `mark_delivery` left them; None when
        there is no such delivery."""
        row = self.s.execute(select(t.Delivery.marks).where(*_posted_as(kind, target, channel, ts))).first()
        if row is None:
            return None
        marks = row.marks or {}
        return int(marks.get("v") or 0), marks.get("lines") or {}

    def delivery(self, kind: str, target: str, period: str) -> dict | None:
        """The delivery row as a dict (state, attempts, channel, ts, error, claimed_at, sent_at)."""
        row = self.s.scalars(select(t.Delivery).where(
            t.Delivery.kind == kind, t.Delivery.target == target, t.Delivery.period == period)).first()
        if row is None:
            return None
        return {k: getattr(row, k) for k in ("state", "attempts", "channel", "ts", "error", "claimed_at", "sent_at")}

    def _roomy(self) -> None:
        """PostgreSQL, for the planning transaction only (SET LOCAL): sort in memory, no JIT (its compile
        time outweighs these simple scans), and times in plain UTC, so the driver hands back datetimes whose
        tzinfo is `datetime.UTC`: comparing those with the planner's own UTC cutoffs is ~8x cheaper."""
        if not getattr(self, "_roomy_done", False):
            self.s.execute(text("SET LOCAL work_mem = '128MB'"))
            self.s.execute(text("SET LOCAL jit = off"))
            self.s.execute(text("SET LOCAL TimeZone = 'UTC'"))
            self._roomy_done = True

    def _days(self, start, end):
        """(end - start) in days, fractional, labelled `v`."""
        if self.s.bind.dialect.name == "postgresql":
            from sqlalchemy import extract
            return (extract("epoch", end - start) / 86400.0).label("v")
        return (func.julianday(end) - func.julianday(start)).label("v")

    def _medians(self, sub, keys: list[str], bytewise: bool = True) -> list[tuple]:
        """(*keys, median of `sub.c.v`, count) per group of `sub`: percentile_cont on PostgreSQL (with room to
        sort in memory); SQLite has no percentile, so there it is a `median` aggregate registered on the
        connection (`_Median`), still one GROUP BY in SQL. `bytewise` groups in COLLATE "C" on PostgreSQL,
        the cheapest sort; without it the groups follow the column's own order, which an index can give."""
        k = [sub.c[name] for name in keys]
        if self.s.bind.dialect.name == "postgresql":
            self._roomy()
            if bytewise:  # grouping needs equality, not a linguistic order
                k = [c.collate("C").label(c.name) for c in k]
            q = select(*k, func.percentile_cont(0.5).within_group(sub.c.v), func.count()).group_by(*k)
            return [tuple(r) for r in self.s.execute(q)]
        self.s.connection().connection.driver_connection.create_aggregate("hardno_median", 1, _Median)
        q = select(*k, func.hardno_median(sub.c.v), func.count()).group_by(*k)
        return [tuple(r) for r in self.s.execute(q)]



class _Median:
    """SQLite aggregate: the median of the non-null values (the mean of the middle two for an even count)."""

    def __init__(self):
        self.values: list[float] = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        v = sorted(self.values)
        n = len(v)
        if not n:
            return None
        return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2

def _fetched_ahead(fetch, depth: int = 2) -> Iterator[list]:
    """The batches `fetch()` returns, until an empty one, each fetched while the caller works on the one
    before: a thread waits for the server (I/O, without the GIL) so the caller need not. At most `depth`
    batches wait, so memory stays bounded. Nothing else may use the connection until this is done."""
    ready: queue.Queue = queue.Queue(depth)
    done = threading.Event()

    def produce() -> None:
        try:
            while not done.is_set():
                rows = fetch()
                ready.put(rows)
                if not rows:
                    return
        except BaseException as e:  # handed to the caller, who raises it
            ready.put(e)

    worker = threading.Thread(target=produce, name="digest-scan", daemon=True)
    worker.start()
    try:
        while (rows := ready.get()):
            if isinstance(rows, BaseException):
                raise rows
            yield rows
    finally:  # also when the caller stops early: let the fetcher finish before the cursor closes
        done.set()
        while worker.is_alive():
            with suppress(queue.Empty):
                ready.get(timeout=0.05)
        worker.join()


def _posted_as(kind: str, target: str, channel: str, ts: str) -> tuple:
    """The delivery of `target` whose message is (channel, ts)."""
    d = t.Delivery
    return d.kind == kind, d.target == target, d.channel == channel, d.ts == ts
