"""The team leaderboard of closed-out deals: periods, scoring and ranking, as plain data (the words and
markup are handlers/board/render.py's).

A decision is the win (playbook 1 and 7): a deal won, a hard no from the
prospect and a deal we dropped ourselves all count the same, one each. The
board ranks a channel's members by how many deals they closed out in the span,
lists everyone with nothing closed yet together in one unranked line ("Still
working: ..."), and never puts anyone at the bottom.

Decisions made here (the callers rely on them):

* Spans are half-open ``[start, end)`` in aware UTC; their bounds are local
  midnights in the board's zone. A week starts Monday 00:00 local, so a week
  with a DST change is 167 or 169 hours long; months and quarters start on the
  local first of the month. All calendar arithmetic is done on local wall-clock
  times and only then converted to UTC.
* ``previous_span`` of a *full* period is the whole period before it. For a
  *partial* span (the period so far, from ``current_span``) it is the same
  wall-clock stretch of the period before: Wednesday 14:00 compares with last
  Wednesday 14:00, the 10th of the month 08:00 with the 10th of last month
  08:00 (clamped to the end of a shorter month). A half-finished week is never
  measured against a whole one.
* Only ``members`` (the channel's members) are ranked, listed or counted.
  Members in ``hidden`` (opted out of the board) are neither ranked nor
  listed, but their closes do count, nameless, in the team totals (this week's
  and last week's alike); ``Board.hidden_count`` says how many of ``total``
  are theirs. Closes by people outside ``members`` count nowhere.
* ``build_board`` keeps only the current closes that fall inside the span (the
  previous ones are taken as given) and ignores anything whose status is OPEN.
* Ranks: by the number closed out, ties share a rank, standard competition
  style (1, 2, 2, 4). Nothing else breaks a tie.
* "Maybes cleared": closed-out deals whose ``first_maybe_at`` is set. The
  median days run from ``first_maybe_at`` to ``closed_at`` (clamped at 0).
* Company names appear only when asked for: ``build_board(details=True)``
  fills ``Row.companies`` (up to 3, most recent first).
* When the scheduled board is due, and which seven days it covers, is
  handlers/domain/board_schedule.py's.
* Live kudos: ``decisions_by_rep`` groups any number of closes for one line.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from handlers.domain.model import Deal, Status

MAX_COMPANIES = 3

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True)
class Span:
    """``[start, end)`` in aware UTC, with a label for people ("week of Nov 16")."""

    start: datetime
    end: datetime
    label: str


# ---------------------------------------------------------------- periods


def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)  # an unknown zone raises ZoneInfoNotFoundError (a KeyError)


def local_time(at: datetime, zone: ZoneInfo) -> datetime:
    """Naive local wall-clock time of an aware instant."""
    if at.tzinfo is None:
        raise ValueError("board times must be timezone-aware")
    return at.astimezone(zone).replace(tzinfo=None)


def utc_time(naive_local: datetime, zone: ZoneInfo) -> datetime:
    """The instant a local wall-clock time names.

    fold=0: an ambiguous time is its first occurrence; a time skipped by a
    spring-forward gap maps to the instant the gap starts plus the offset,
    so a midnight that does not exist starts the day at the transition.
    """
    return naive_local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _period_start(local: datetime, period: Period) -> datetime:
    """Naive local start of the period containing the naive local time."""
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    if period is Period.QUARTER:
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    raise ValueError(f"unknown period {period!r}")


def _shift(start: datetime, period: Period, n: int) -> datetime:
    """Naive local start of the period ``n`` periods after the one starting at ``start``."""
    if period is Period.WEEK:
        return start + timedelta(weeks=n)
    months = n if period is Period.MONTH else 3 * n
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1, day=1)


def period_label(start: datetime, period: Period) -> str:
    if period is Period.WEEK:
        return f"week of {MONTHS[start.month - 1][:3]} {start.day}"
    if period is Period.MONTH:
        return f"{MONTHS[start.month - 1]} {start.year}"
    return f"Q{(start.month - 1) // 3 + 1} {start.year}"


def _span(start: datetime, end: datetime, period: Period, zone: ZoneInfo) -> Span:
    return Span(utc_time(start, zone), utc_time(end, zone), period_label(start, period))


def current_span(period: Period, now: datetime, tz: str) -> Span:
    """The period so far: from its local start (e.g. Monday 00:00) up to ``now``."""
    period = Period(period)
    zone = _zone(tz)
    start = _period_start(local_time(now, zone), period)
    return Span(utc_time(start, zone), now.astimezone(UTC), period_label(start, period))


def last_full_span(period: Period, now: datetime, tz: str) -> Span:
    """The whole period that ended most recently (what the scheduled post shows).

    On Monday Nov 23 09:00 that is Monday Nov 16 00:00 .. Monday Nov 23 00:00 local.
    """
    period = Period(period)
    zone = _zone(tz)
    this = _period_start(local_time(now, zone), period)
    return _span(_shift(this, period, -1), this, period, zone)


def previous_span(span: Span, period: Period, tz: str) -> Span:
    """The period before ``span``, for the change line.

    A full span gives the full period before. A partial one (``end`` before its
    period's end) gives the same local wall-clock stretch of the period before,
    clamped to that period's end.
    """
    period = Period(period)
    zone = _zone(tz)
    start = _period_start(local_time(span.start, zone), period)
    natural_end = _shift(start, period, 1)
    prev_start = _shift(start, period, -1)
    end_local = local_time(span.end, zone)
    if end_local >= natural_end:
        return _span(prev_start, start, period, zone)
    prev_end = min(prev_start + (end_local - start), start)
    return _span(prev_start, prev_end, period, zone)


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Closed:
    """One closed-out deal, as the board needs it."""

    owner_id: str
    status: Status
    closed_at: datetime
    first_maybe_at: datetime | None = None
    company: str = ""

    @classmethod
    def from_deal(cls, deal: Deal) -> Closed:
        if deal.closed_at is None or not deal.status.closed:
            raise ValueError("only a closed deal with closed_at set can be on the board")
        return cls(deal.owner_id, deal.status, deal.closed_at, deal.first_maybe_at, deal.company)


@dataclass(frozen=True)
class Row:
    rank: int
    user_id: str
    won: int
    no: int
    dropped: int
    maybes_cleared: int
    median_days_to_decision: float | None
    companies: tuple[str, ...] = ()

    @property
    def closed_out(self) -> int:
        return self.won + self.no + self.dropped


@dataclass(frozen=True)
class Board:
    span: Span
    rows: tuple[Row, ...]  # ranked reps, best first; everyone here closed at least one
    still_working: tuple[str, ...]  # members with nothing closed yet, unranked, by user id
    total: int  # decisions by members in the span, hidden members included
    previous_total: int  # the same for the previous span
    hidden_count: int  # how many of `total` are hidden members'


def _counts(closed: Iterable[Closed], members: set[str]) -> list[Closed]:
    return [c for c in closed if c.owner_id in members and Status(c.status).closed]


def _in_span(c: Closed, span: Span) -> bool:
    return span.start <= c.closed_at < span.end


def build_board(span: Span, closed: Iterable[Closed], previous: Iterable[Closed],
                members: Iterable[str], hidden: Collection[str] = (), details: bool = False) -> Board:
    """Score and rank the channel's ``members`` on what they closed out in ``span``."""
    team = set(members)
    hidden_set = team & set(hidden)
    shown = team - hidden_set
    now_closed = [c for c in _counts(closed, team) if _in_span(c, span)]
    prev_closed = _counts(previous, team)

    by_rep: dict[str, list[Closed]] = {u: [] for u in shown}
    for c in now_closed:
        if c.owner_id in by_rep:
            by_rep[c.owner_id].append(c)

    scored = []
    for user, mine in by_rep.items():
        if not mine:
            continue
        status = [Status(c.status) for c in mine]
        waits = [max(0.0, (c.closed_at - c.first_maybe_at).total_seconds() / 86400)
                 for c in mine if c.first_maybe_at is not None]
        companies: tuple[str, ...] = ()
        if details:
            seen: list[str] = []
            for c in sorted(mine, key=lambda c: c.closed_at, reverse=True):
                name = c.company.strip()
                if name and name not in seen:
                    seen.append(name)
            companies = tuple(seen[:MAX_COMPANIES])
        scored.append(Row(0, user, status.count(Status.WON), status.count(Status.NO),
                          status.count(Status.DROPPED), len(waits),
                          statistics.median(waits) if waits else None, companies))

    scored.sort(key=lambda r: (-r.closed_out, r.user_id))
    rows, rank = [], 0
    for i, row in enumerate(scored):
        if i == 0 or row.closed_out != scored[i - 1].closed_out:
            rank = i + 1
        rows.append(_with_rank(row, rank))

    return Board(
        span=span,
        rows=tuple(rows),
        still_working=tuple(sorted(u for u, mine in by_rep.items() if not mine)),
        total=len(now_closed),
        previous_total=len(prev_closed),
        hidden_count=sum(1 for c in now_closed if c.owner_id in hidden_set),
    )


def _with_rank(row: Row, rank: int) -> Row:
    return Row(rank, row.user_id, row.won, row.no, row.dropped, row.maybes_cleared,
               row.median_days_to_decision, row.companies)


# ---------------------------------------------------------------- kudos


def decisions_by_rep(closed: Iterable[Closed]) -> dict[str, list[Closed]]:
    """The closed-out deals of ``closed`` by rep, reps in the order of their first close, each rep's
    closes oldest first (what one kudos line cheers)."""
    by_rep: dict[str, list[Closed]] = {}
    for c in sorted(closed, key=lambda c: (c.closed_at, c.owner_id)):
        if Status(c.status).closed:
            by_rep.setdefault(c.owner_id, []).append(c)
    return by_rep
