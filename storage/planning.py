"""The planning scan of the morning digests: a few whole-org queries (thresholds, two median aggregates,
one streamed scan of the open deals), never one query per rep or per deal."""

from __future__ import annotations

import json
import queue
import statistics
import threading
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, get_type_hints

from sqlalchemy import extract, func, select, text, union_all

from handlers.domain import model as m
from handlers.domain.stalls import DealRow
from storage import models as t
from storage.base import TxBase
from storage.deals import CLOSED

_ROW_TIMES = frozenset(i for i, name in enumerate(DealRow._fields)
                       if "datetime" in str(get_type_hints(DealRow)[name]))  # DealRow's time columns


class PlanningQueries(TxBase):
    def workspace_thresholds(self) -> dict[str, dict]:
        """{team_id: that workspace's overrides of the nudger's thresholds}, for workspaces that set any."""
        q = select(t.Workspace.team_id, t.Workspace.thresholds).where(t.Workspace.thresholds.is_not(None),
                                                                      *self._scoped(t.Workspace.team_id))
        return {team: th for team, th in self.s.execute(q) if isinstance(th, dict)}

    def open_deals_for_digest(self, owners: Iterable[str] | None, now: datetime,
                              batch: int = 5000) -> Iterator[DealRow]:
        """Open deals of `owners` (None: everyone's) in this transaction's workspace, not snoozed at `now`, as
        the rules read them, ordered by owner then id, and streamed `batch` rows at a time: memory stays flat however many there are.

        The hot path of the morning plan (a million deals), so it reads through the driver's own cursor
        (a server-side one on PostgreSQL) and builds tuples, not ORM objects; in this transaction."""
        cols = ", ".join(DealRow._fields)
        raw: Any = self.s.connection().connection.driver_connection
        owner_list = None if owners is None else sorted(set(owners))
        make = DealRow._make
        team = self.team
        if self.s.get_bind().dialect.name == "postgresql":
            self._roomy()
            # Grouping needs equal owners together, not a linguistic order: COLLATE "C" sorts by bytes.
            sql = (f"SELECT {cols} FROM deals WHERE status = 'open' "
                   "AND (snoozed_until IS NULL OR snoozed_until <= %(now)s)"
                   + ("" if team is None else " AND team_id = %(team)s")
                   + ("" if owner_list is None else " AND owner_id = ANY(%(owners)s)")
                   + ' ORDER BY owner_id COLLATE "C", id')
            with raw.cursor(name="hardno_digest_scan", binary=True) as cur:
                cur.execute(sql, {"now": now, "owners": owner_list, "team": team})
                for rows in _fetched_ahead(lambda: cur.fetchmany(batch)):
                    yield from map(make, rows)
            return
        # SQLite: times are naive UTC text (see models.UTCDateTime), amounts REAL.
        when = _ROW_TIMES
        amount = DealRow._fields.index("amount")
        select_list = ", ".join(f"{c} || '+00:00'" if i in when else c for i, c in enumerate(DealRow._fields))
        sql = (f"SELECT {select_list} FROM deals WHERE status = 'open' "
               "AND (snoozed_until IS NULL OR snoozed_until <= :now)"
               + ("" if team is None else " AND team_id = :team")
               + ("" if owner_list is None else " AND owner_id IN (SELECT value FROM json_each(:owners))")
               + " ORDER BY owner_id, id")
        cur = raw.cursor()
        try:
            cur.execute(sql, {"now": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                              "owners": None if owner_list is None else json.dumps(owner_list), "team": team})
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
             .where(t.Deal.amount.is_not(None), *self._scoped(t.Deal.team_id)))
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
        d, a = t.Deal, t.Activity
        final = (select(d.owner_id.label("owner"), d.stage.label("stage"), self._days(d.stage_since, d.closed_at))
                 .where(*self._scoped(d.team_id), d.status.in_(CLOSED), d.stage.is_not(None), d.stage != "",
                        d.stage_since.is_not(None), d.closed_at >= d.stage_since))
        changes = (select(d.owner_id.label("owner"), a.text.label("stage"), a.at.label("start"),
                          func.lead(a.at).over(partition_by=a.deal_id, order_by=(a.at, a.id)).label("end"))
                   .join(d, d.id == a.deal_id).where(a.kind == m.Kind.STAGE.value, *self._scoped(d.team_id)))
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
        if self.s.get_bind().dialect.name == "postgresql":
            return (extract("epoch", end - start) / 86400.0).label("v")
        return (func.julianday(end) - func.julianday(start)).label("v")

    def _medians(self, sub, keys: list[str], bytewise: bool = True) -> list[tuple]:
        """(*keys, median of `sub.c.v`, count) per group of `sub`: percentile_cont on PostgreSQL (with room to
        sort in memory); SQLite has no percentile, so there it is a `median` aggregate registered on the
        connection (`_Median`), still one GROUP BY in SQL. `bytewise` groups in COLLATE "C" on PostgreSQL,
        the cheapest sort; without it the groups follow the column's own order, which an index can give."""
        k = [sub.c[name] for name in keys]
        if self.s.get_bind().dialect.name == "postgresql":
            self._roomy()
            if bytewise:  # grouping needs equality, not a linguistic order
                k = [c.collate("C").label(c.name) for c in k]
            q = select(*k, func.percentile_cont(0.5).within_group(sub.c.v), func.count()).group_by(*k)
            return [tuple(r) for r in self.s.execute(q)]
        driver: Any = self.s.connection().connection.driver_connection
        driver.create_aggregate("hardno_median", 1, _Median)
        q = select(*k, func.hardno_median(sub.c.v), func.count()).group_by(*k)
        return [tuple(r) for r in self.s.execute(q)]



class _Median:
    """SQLite aggregate: the median of the non-null values (the mean of the middle two for an even count)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


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
