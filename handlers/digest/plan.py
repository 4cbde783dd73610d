"""Planning every due rep's digest with a handful of whole-org queries and a read-ahead scan."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, groupby, islice
from operator import attrgetter

from handlers import blocks as bk
from handlers.digest.due import Due
from handlers.domain.model import Deal, Rep
from handlers.domain.stalls import (
    BREAKUP,
    MEETING,
    TAKE_NO,
    DealRow,
    Digest,
    RepStats,
    Thresholds,
    plan_digest,
)

LINES = 10  # at most this many deals in one digest
MAX_OWNER_FILTER = 1000  # due reps beyond which planning reads everyone's rows and skips the others
# Rows read ahead (about 1.7 KB each, so at most ~170 MB) while the medians are still being worked out in the database: reading
# the scan is the planning's biggest cost, and this lets it overlap theirs instead of waiting for them.
READ_AHEAD = 100_000


def plan_digests(store, due: Sequence[Due], now: datetime, *,
                 limit: int = LINES) -> Iterator[tuple[Due, Digest | None]]:
    """Every due rep's digest (None: nothing stuck), workspace by workspace (a user id is only unique in its
    workspace): for each, a handful of queries for its whole set of due reps (its thresholds, the reps'
    median amounts, their median days per stage) and ONE streamed, owner-ordered scan of its open,
    unsnoozed deals, judged rep by rep as the rows go by. Memory holds one rep's top `limit` lines at a
    time, never the scan."""
    teams: dict[str, list[Due]] = {}
    for d in due:
        teams.setdefault(d.rep.team_id, []).append(d)
    for team, theirs in teams.items():
        yield from _plan_workspace(store, team, theirs, now, limit)


def _plan_workspace(store, team: str, due: Sequence[Due], now: datetime,
                    limit: int) -> Iterator[tuple[Due, Digest | None]]:
    by_owner = {d.rep.user_id: d for d in due}
    if not by_owner:
        return
    # A sweep usually plans one zone's reps: the queries read just theirs (by index). When very many are
    # due at once (`--now`), plain whole-table scans are faster, and the other reps' rows are skipped here.
    owners = list(by_owner) if len(by_owner) <= MAX_OWNER_FILTER else None
    seen: set[str] = set()
    with _stats(store, team, owners) as stats, store.read(team) as tx:
        overrides = tx.workspace_thresholds()
        stats.before_scan(tx)
        rows = tx.open_deals_for_digest(owners, now)
        ahead = stats.read_ahead(rows)
        amounts, stages = stats.get()
        thresholds = Thresholds.from_overrides(overrides.get(team))
        for owner, deals in groupby(chain(ahead, rows), key=attrgetter("owner_id")):
            d = by_owner.get(owner)
            if d is None or owner in seen:  # not due (unfiltered read), or seen (never: rows come grouped)
                continue
            seen.add(owner)
            usual = RepStats(median_amounts=amounts.get(owner, {}), median_stage_days=stages.get(owner, {}))
            yield d, plan_digest(deals, now, d.rep.tz, usual, thresholds, limit)
    for owner, d in by_owner.items():
        if owner not in seen:
            yield d, None  # no open deals at all


class _Stats:
    """The reps' median amounts and median days per stage. On PostgreSQL both aggregates start at once,
    each in a transaction (and a server process) of its own, while the scan gets going; on SQLite (one
    writer at a time) they run in the planning transaction, before its scan."""

    def __init__(self, store, team: str, owners, pool: ThreadPoolExecutor | None):
        self.team, self.owners = team, owners
        self.found: tuple[dict, dict] | None = None
        self.futures: list[Future] | None = None
        if pool is not None:
            self.futures = [pool.submit(self._read, store, q) for q in ("median_amounts", "median_stage_days")]

    def _read(self, store, query: str):
        with store.read(self.team) as tx:
            return getattr(tx, query)(self.owners)

    def before_scan(self, tx) -> None:
        if self.futures is None:
            self.found = tx.median_amounts(self.owners), tx.median_stage_days(self.owners)

    def read_ahead(self, rows: Iterator, chunk: int = 1000) -> list:
        """Rows taken from `rows` until the medians are in (at most READ_AHEAD of them)."""
        ahead: list = []
        while self.futures is not None and len(ahead) < READ_AHEAD and not all(f.done() for f in self.futures):
            taken = list(islice(rows, chunk))
            ahead += taken
            if len(taken) < chunk:
                break
        return ahead

    def get(self) -> tuple[dict, dict]:
        if self.futures is None:
            assert self.found is not None, "before_scan() reads them first"
            return self.found
        return self.futures[0].result(), self.futures[1].result()


@contextmanager
def _stats(store, team: str, owners):
    if store.dialect != "postgresql":
        yield _Stats(store, team, owners, None)
        return
    with ThreadPoolExecutor(2, thread_name_prefix="digest-stats") as pool:
        yield _Stats(store, team, owners, pool)


@dataclass(frozen=True)
class Line:
    """One digest line, ready to show: the plan's deal rows are let go as soon as it is made."""

    deal_id: int
    company: str
    amount: str | None
    reasons: tuple[str, ...]  # most decisive first
    age_days: int
    draft: str  # what "Draft hard-no ask" drafts: "ask", or "breakup" after silence / effort beyond value
    meeting_first: bool  # the first reason asks for a next meeting


@dataclass(frozen=True)
class Planned:
    rep: Rep
    day: date
    opening: str
    lines: tuple[Line, ...]
    more: int


def line_of(deal: Deal | DealRow, reasons: Iterable, age_days: int) -> Line:
    stalls = list(reasons)
    first = stalls[0].suggestion if stalls else None
    return Line(int(deal.id or 0), deal.company, None if deal.amount is None else bk.amount_text(deal),  # type: ignore[arg-type]
                tuple(s.reason for s in stalls), age_days, "breakup" if first in (BREAKUP, TAKE_NO) else "ask",
                first == MEETING)


def planned(d: Due, digest: Digest | None) -> Planned | None:
    if digest is None:
        return None
    lines = tuple(line_of(ln.deal, ln.stalls, ln.age_days) for ln in digest.lines)
    return Planned(d.rep, d.day, digest.opening, lines, digest.more)
