"""The coach's answers to pipeline questions, picked from the rep's `Pipeline` (the digest's own judgement).

Slack-free and database-free. "What's stuck?" is what the morning digest would list now (with its
reasons) plus the deals whose last meeting passed; "which deals need an ask?" those of them whose first
stall suggests an ask (or taking the no); "what's due this week?" the meetings and try-again dates in
the rep's local week; "how many maybes?" the open deals that ended on a maybe. Nothing here judges a deal
itself: `handlers.domain.pipeline.sort_pipeline` (the digest's rules) already did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from handlers.domain.coach_intent import Want
from handlers.domain.drafts import fmt_day, fmt_slot, local_today
from handlers.domain.model import Deal
from handlers.domain.pipeline import Pipeline
from handlers.domain.stalls import ASK, TAKE_NO
from handlers.domain.zones import zone

PIPELINE_WANTS = (Want.STUCK, Want.NEED_ASK, Want.DUE, Want.MAYBES)


@dataclass(frozen=True)
class Line:
    deal: Deal
    why: str  # plain text (the stall's reason, or a date in the rep's zone)
    suggestion: str | None = None  # the coach draft that fits, as the digest suggests it


@dataclass(frozen=True)
class Answer:
    headline: str  # plain text
    lines: tuple[Line, ...]
    empty: str  # what to say when there are no lines (good news, or how to start)


def pipeline_answer(want: Want, p: Pipeline, now: datetime, tz: str) -> Answer:
    if want is Want.STUCK:
        lines = [Line(s.deal, s.stalls[0].reason, s.stalls[0].suggestion) for s in p.needs_decision if s.stalls]
        lines += [Line(d, f"Your meeting on {fmt_day(d.next_meeting_at, tz)} passed; nothing logged since.",
                       "meeting") for d in p.meeting_passed if d.next_meeting_at is not None]
        return Answer(f"{_n(len(lines), 'deal')} need{'s' if len(lines) == 1 else ''} a decision or a next step:",
                      tuple(lines), "Nothing is stuck: every open deal has a next step. Keep it that way.")
    if want is Want.NEED_ASK:
        lines = [Line(s.deal, s.stalls[0].reason, s.stalls[0].suggestion) for s in p.needs_decision
                 if s.stalls and s.stalls[0].suggestion in (ASK, TAKE_NO)]
        return Answer(f"{_n(len(lines), 'deal')} could use a hard-no ask now:", tuple(lines),
                      "None right now: no deal is waiting on an ask for a decision.")
    if want is Want.DUE:
        return _due(p, now, tz)
    if want is Want.MAYBES:
        open_deals = [s.deal for s in p.needs_decision] + list(p.meeting_passed + p.snoozed + p.on_track)
        maybes = sorted((d for d in open_deals if d.maybe_count > 0), key=lambda d: (-d.maybe_count, d.company))
        total = sum(d.maybe_count for d in maybes)
        lines = [Line(d, f"{_n(d.maybe_count, 'maybe')}" + (f", last on {fmt_day(d.last_maybe_at, tz)}"
                                                              if d.last_maybe_at else ""),
                      "ask") for d in maybes]
        return Answer(f"{_n(len(maybes), 'open deal')} ended on a maybe ({_n(total, 'maybe')} in all). "
                      "A maybe isn't a decision: ask for one.", tuple(lines),
                      "No maybes among your open deals. Every answer so far is a real one.")
    raise ValueError(f"not a pipeline question: {want}")


def _due(p: Pipeline, now: datetime, tz: str) -> Answer:
    today = local_today(now, tz)
    end = datetime.combine(today + timedelta(days=7 - today.weekday()), time(0), tzinfo=zone(tz)).astimezone(UTC)
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    found: list[tuple[datetime, Line]] = []
    for d in [s.deal for s in p.needs_decision] + list(p.meeting_passed + p.snoozed + p.on_track):
        if d.next_meeting_at is not None and now <= d.next_meeting_at < end:
            found.append((d.next_meeting_at, Line(d, f"meeting {fmt_slot(d.next_meeting_at, tz)}", "ask")))
        if d.snoozed_until is not None and now <= d.snoozed_until < end:
            found.append((d.snoozed_until, Line(d, f"try again from {fmt_day(d.snoozed_until, tz)}", None)))
    lines = tuple(line for _, line in sorted(found, key=lambda x: x[0]))
    return Answer(f"Due this week (to Sunday): {_n(len(lines), 'thing')}.", lines,
                  "Nothing on the calendar for the rest of this week. A deal without a next meeting is "
                  "drifting: `/deal list` shows which ones need one.")


def _n(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
