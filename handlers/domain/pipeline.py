"""A rep's pipeline as Home and `/deal list` show it, sorted by the digest's own rules.

"Needs a decision" is exactly what the morning digest would list at `now`: the same
stall rules (`stalls.plan_digest`), thresholds, rep statistics, zone and clock, in the
digest's order and with its reasons. The other open deals are grouped by why they are
not listed: snoozed, a meeting that passed (never "on track": its grace days are not a
plan), or on track.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers.domain.model import Deal
from handlers.domain.stalls import RepStats, Stall, Thresholds, plan_digest

LIST_FILTERS = ("open", "maybes", "closed", "all")


@dataclass(frozen=True)
class Stuck:
    deal: Deal
    stalls: tuple[Stall, ...]  # most decisive first, as the digest words them


@dataclass(frozen=True)
class Pipeline:
    needs_decision: tuple[Stuck, ...] = ()  # what the digest would list now, in its order
    meeting_passed: tuple[Deal, ...] = ()  # open, not stuck yet, its last agreed meeting is behind it
    snoozed: tuple[Deal, ...] = ()  # open, snoozed at `now` (the digest leaves it alone until then)
    on_track: tuple[Deal, ...] = ()  # open, none of the above
    closed: tuple[Deal, ...] = ()  # newest decision first

    @property
    def open_count(self) -> int:
        return len(self.needs_decision) + len(self.meeting_passed) + len(self.snoozed) + len(self.on_track)

    @property
    def total(self) -> int:
        return self.open_count + len(self.closed)


def sort_pipeline(deals: Iterable[Deal], now: datetime, tz: str, which: str = "open",
                  stats: RepStats = RepStats(), th: Thresholds = Thresholds()) -> Pipeline:
    """The rep's deals grouped for display. `which`: open | maybes (open deals with a maybe) | closed | all."""
    if which not in LIST_FILTERS:
        raise ValueError(f"unknown list filter {which!r}")
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    deals = list(deals)
    open_ = [d for d in deals if d.is_open and (which != "maybes" or d.maybe_count > 0)]
    closed = [d for d in deals if not d.is_open and which in ("closed", "all")]
    if which == "closed":
        open_ = []
    digest = plan_digest(open_, now, tz, stats, th, limit=len(open_))
    by_identity = {id(d): d for d in open_}  # the digest's lines hold the very Deal objects given
    stuck = tuple(Stuck(by_identity[id(line.deal)], line.stalls) for line in digest.lines) if digest else ()
    listed = {id(s.deal) for s in stuck}
    rest = [d for d in open_ if id(d) not in listed]
    snoozed = [d for d in rest if d.snoozed_until is not None and d.snoozed_until > now]
    waiting = [d for d in rest if not (d.snoozed_until is not None and d.snoozed_until > now)]
    passed = [d for d in waiting if d.next_meeting_at is not None and d.next_meeting_at <= now]
    on_track = [d for d in waiting if not (d.next_meeting_at is not None and d.next_meeting_at <= now)]
    return Pipeline(
        needs_decision=stuck,
        meeting_passed=tuple(sorted(passed, key=lambda d: _at(d.next_meeting_at))),
        snoozed=tuple(sorted(snoozed, key=lambda d: _at(d.snoozed_until))),
        on_track=tuple(on_track),
        closed=tuple(sorted(closed, key=lambda d: _at(d.closed_at), reverse=True)),
    )


def _at(t: datetime | None) -> datetime:
    return t if t is not None else datetime.min.replace(tzinfo=UTC)
