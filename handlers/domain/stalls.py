"""The nudger's judgement: which open deals are stuck, why, and the morning digest of them.

Each rule follows the playbook: a maybe is the worst answer (1), a meeting
without a next meeting is a no (2), silence is not a no but earns a last-try
message (5), and effort beyond a deal's worth means taking the no (6).

Decisions (callers rely on them):
- Day counts are local calendar days in the rep's zone ("your call on Nov 12"
  is 7 days old on Nov 19 at any hour), because reps read the digest once a
  morning and count days by dates.
- Never nudged: closed deals; snoozed deals; deals with a future meeting and
  activity within `no_meeting_days`. A decision ask still unanswered pauses the
  deal until the start of the local day `ask_wait_working_days` working days
  later (asked Friday 15:00 -> back from Wednesday 00:00, so in Wednesday's
  morning digest); then it is back with "ask_unanswered".
- While the last meeting has nothing logged after it, only "meeting_passed"
  speaks for it (after its grace day), never "no_next_meeting" as well.
- A deal's stalls come most decisive first; the first one's `suggestion` is the
  coach draft to offer.
- Deal times are aware (the model's contract); an unknown zone reads as UTC.
- Everything here takes a `Deal` or a `DealRow` (the open deal's fields the rules read, as a tuple):
  the morning plan streams DealRows, ten times cheaper to build than the frozen Deal.
- Reasons are plain text: the stage name is the rep's own and is not escaped.

One job, judging stuck deals, in one module: `stalls` judges one deal and `plan_digest` ranks a morning's
worth through the same private `_Judge` (its cutoff lets the plan skip most deals without working out
their local dates), so the rules and the ranking that reads their `since` stay side by side.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from handlers.domain.model import Deal
from handlers.domain.schedule import working_days_after
from handlers.domain.text import ordinal, plural
from handlers.domain.zones import zone

# Rule names (Stall.rule).
REPEATED_MAYBES = "repeated_maybes"
NO_NEXT_MEETING = "no_next_meeting"
MEETING_PASSED = "meeting_passed"
SILENCE = "silence"
STUCK_IN_STAGE = "stuck_in_stage"
EFFORT_BEYOND_VALUE = "effort_beyond_value"
ASK_UNANSWERED = "ask_unanswered"

# Suggestions (Stall.suggestion): which coach draft fits.
ASK, MEETING, BREAKUP, TAKE_NO = "ask", "meeting", "breakup", "take_no"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MIN_STAGE_SAMPLES = 3  # fewer past stages than this say nothing about the rep's pace
_MAX_DAYS = 36500  # thresholds beyond a century are "never" (and keep date arithmetic in range)
# Most decisive first: a deal's first stall names the draft to offer. Taking the no
# outranks a last try, which outranks another ask (playbook 5 and 6).
_ORDER = (EFFORT_BEYOND_VALUE, SILENCE, ASK_UNANSWERED, REPEATED_MAYBES, MEETING_PASSED, NO_NEXT_MEETING,
          STUCK_IN_STAGE)


class DealRow(NamedTuple):
    """An OPEN deal as the rules read it: the `Deal` fields they use, same names, as a plain tuple.

    Storage streams these for the morning plan (a million deals a morning; a tuple is built about ten
    times faster than the frozen `Deal`). Judging a DealRow and the Deal it came from gives the same answer.
    """

    id: int | None
    owner_id: str
    company: str
    amount: Decimal | None
    currency: str | None
    stage: str | None
    next_meeting_at: datetime | None
    snoozed_until: datetime | None
    created_at: datetime
    maybe_count: int
    first_maybe_at: datetime | None
    last_maybe_at: datetime | None
    touch_count: int
    touches_since_answer: int
    last_answer_at: datetime | None
    last_activity_at: datetime | None
    stage_since: datetime | None
    asked_at: datetime | None

    @property
    def is_open(self) -> bool:
        return True  # only open deals are ever streamed as rows

    @classmethod
    def of(cls, deal: Deal) -> DealRow:
        if not deal.is_open:
            raise ValueError("a DealRow is an open deal")
        return cls(*(getattr(deal, name) for name in cls._fields))


@dataclass(frozen=True)
class Thresholds:
    repeated_maybes: int = 2  # maybes logged
    no_meeting_days: int = 7  # open, no future meeting, no activity for this many days
    meeting_passed_days: int = 1  # next meeting this many days past, nothing logged after it
    silence_touches: int = 4  # unanswered attempts in a row -> the last-try message
    stage_factor: float = 2.0  # in one stage longer than this x the rep's median for it
    stage_default_days: int = 30  # ... or than this when the rep has < 3 samples
    effort_touches: int = 8  # attempts on a deal below the rep's median size -> take the no
    ask_wait_working_days: int = 3  # a decision ask pauses nudges this many working days

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, object] | None) -> Thresholds:
        """The defaults with a workspace's overrides (its JSON column) laid over them.

        Unknown keys and unusable values (wrong type, negative) are ignored, so a
        bad row costs that setting, not the workspace's digests.
        """
        base, changes = cls(), {}
        for f in fields(cls):
            value = (overrides or {}).get(f.name)
            kind = type(getattr(base, f.name))
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                continue  # NaN fails the range test too
            if kind is int and value != int(value):
                continue
            changes[f.name] = kind(value)
        return cls(**changes)


@dataclass(frozen=True)
class RepStats:
    """The rep's own history, to judge a deal against what is usual for them."""

    # currency (None: the deals with no currency given) -> the median amount of the rep's deals in it. A deal
    # is compared with its own currency's median only: amounts are never converted.
    median_amounts: Mapping[str | None, Decimal] = field(default_factory=dict)
    median_stage_days: Mapping[str, tuple[float, int]] = field(default_factory=dict)  # stage -> (median, samples)


@dataclass(frozen=True)
class Stall:
    rule: str
    reason: str  # what the rep reads, dates in their zone
    suggestion: str  # ASK | MEETING | BREAKUP | TAKE_NO


@dataclass(frozen=True)
class DigestLine:
    deal: Deal | DealRow
    stalls: tuple[Stall, ...]
    age_days: int  # local days the deal has been waiting on a decision (the priority)


@dataclass(frozen=True)
class Digest:
    lines: tuple[DigestLine, ...]
    more: int  # stuck deals left out beyond `limit`
    opening: str


# ---------------------------------------------------------------- the rules


def stalls(deal: Deal | DealRow, now: datetime, tz: str, stats: RepStats = RepStats(),
           th: Thresholds = Thresholds()) -> list[Stall]:
    """Why `deal` is stuck at `now`, most decisive first; empty when it should be left alone."""
    judge = _Judge(now, zone(tz), stats, th)
    found = judge.check(deal)
    return list(judge.explain(deal, found[0])) if found else []


class _Judge:
    """The rules for one rep at one instant, with all that is shared by their deals worked out once.

    `check` decides with instant comparisons against precomputed local-midnight
    cutoffs (a million deals a morning); `explain` writes the reasons, which the
    digest asks for only for the lines it keeps.
    """

    def __init__(self, now: datetime, zone: ZoneInfo, stats: RepStats, th: Thresholds):
        self.now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        self.zone, self.stats, self.th = zone, stats, th
        self.today = self.now.astimezone(zone).date()
        self._mids = _midnights(zone, self.today)
        self._cutoffs: dict[int, datetime] = {}
        self.quiet_cutoff = self.cutoff(th.no_meeting_days)
        self.meeting_cutoff = self.cutoff(th.meeting_passed_days)
        self._ask_ends: dict[date, date] = {}
        self._stage_cutoffs: dict[str, datetime] = {}
        # n working days span at most m + 2*(m//5 + 1) calendar days: an ask older than that is
        # over without any calendar walking.
        m = th.ask_wait_working_days
        self.ask_over = self.cutoff(m + 2 * (m // 5 + 1) + 1)

    def cutoff(self, days: int) -> datetime:
        """The first instant fewer than `days` local days ago: anything before it is `days` or more ago."""
        if 0 <= days <= _HORIZON + 1:
            return self._mids[_HORIZON + 1 - days]
        if days not in self._cutoffs:
            self._cutoffs[days] = _midnight(self.today - timedelta(days=min(days, _MAX_DAYS) - 1), self.zone)
        return self._cutoffs[days]

    def date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def days_ago(self, at: datetime) -> int:
        """Local calendar days from `at` to today (negative for a later day)."""
        i = bisect_right(self._mids, at)  # _mids[i - 1] <= at < _mids[i]: at is on day (today - _HORIZON) + i - 1
        if 0 < i < len(self._mids):
            return _HORIZON + 1 - i
        return (self.today - self.date(at)).days

    def day(self, at: datetime) -> str:
        d = self.today - timedelta(days=self.days_ago(at))
        text = f"{_MONTHS[d.month - 1]} {d.day}"
        return text if d.year == self.today.year else f"{text}, {d.year}"

    def _ask_paused(self, asked_at: datetime) -> bool:
        """Today is before the local day `ask_wait_working_days` working days after the ask's."""
        if asked_at < self.ask_over:
            return False
        asked = asked_at.astimezone(self.zone).date()
        end = self._ask_ends.get(asked)
        if end is None:  # the same for every ask made that local day
            end = self._ask_ends[asked] = working_days_after(asked, self.th.ask_wait_working_days)
        return self.today < end

    def _stage_allowed(self, stage: str) -> tuple[float, float | None]:
        """(days allowed in `stage`, the rep's usual days there or None when too little history)."""
        median, samples = self.stats.median_stage_days.get(stage, (None, 0))
        if median is not None and samples >= _MIN_STAGE_SAMPLES:
            return self.th.stage_factor * median, median
        return self.th.stage_default_days, None

    def check(self, deal: Deal | DealRow) -> tuple[list[str], datetime] | None:
        """(rules that fire, most decisive first; since when the deal waits), or None. Cheapest exits first."""
        now, th = self.now, self.th
        if not deal.is_open or (deal.snoozed_until is not None and deal.snoozed_until > now):
            return None
        last = deal.last_activity_at or deal.created_at
        meeting = deal.next_meeting_at
        future_meeting = meeting is not None and meeting > now
        if future_meeting and last >= self.quiet_cutoff:
            return None  # on track: the next conversation is on the calendar
        if deal.asked_at is not None and self._ask_paused(deal.asked_at):
            return None  # the ball is in the prospect's court
        found: list[str] = []
        since: list[datetime] = []  # when each finding started waiting; the earliest ranks the deal
        if deal.touch_count >= th.effort_touches and deal.amount is not None:
            usual = self.stats.median_amounts.get(deal.currency)  # like with like: never across currencies
            if usual is not None and deal.amount < usual:
                found.append(EFFORT_BEYOND_VALUE)
                since.append(deal.created_at)
        if deal.touches_since_answer >= th.silence_touches:
            found.append(SILENCE)
            since.append(deal.last_answer_at or deal.created_at)
        if deal.asked_at is not None:
            found.append(ASK_UNANSWERED)
            since.append(deal.asked_at)
        if deal.maybe_count >= th.repeated_maybes:
            found.append(REPEATED_MAYBES)
            since.append(_first_maybe(deal))
        if meeting is not None and not future_meeting and last <= meeting:
            # Nothing logged since the meeting: that is the news, and it gets its own grace days.
            if meeting < self.meeting_cutoff:
                found.append(MEETING_PASSED)
                since.append(meeting)
        elif not future_meeting and last < self.quiet_cutoff:
            found.append(NO_NEXT_MEETING)
            since.append(last)
        stage = deal.stage
        if stage:
            entered = deal.stage_since or deal.created_at
            cut = self._stage_cutoffs.get(stage)
            if cut is None:  # whole local days: more than `allowed` means at least floor(allowed) + 1
                cut = self._stage_cutoffs[stage] = self.cutoff(math.floor(self._stage_allowed(stage)[0]) + 1)
            if entered < cut:
                found.append(STUCK_IN_STAGE)
                since.append(entered)
        return (found, min(since)) if found else None

    def explain(self, deal: Deal | DealRow, found: Iterable[str]) -> tuple[Stall, ...]:
        return tuple(self._stall(deal, rule) for rule in found)

    def _stall(self, deal: Deal | DealRow, rule: str) -> Stall:
        if rule == EFFORT_BEYOND_VALUE:
            return Stall(rule, f"{deal.touch_count} tries for a deal below your usual size: consider taking the no",
                         TAKE_NO)
        if rule == SILENCE:
            return Stall(rule, f"{deal.touches_since_answer} tries without an answer: time for a last-try message",
                         BREAKUP)
        if rule == ASK_UNANSWERED:
            assert deal.asked_at is not None  # the rule fires only with an ask
            return Stall(rule, f"asked for a decision {self.day(deal.asked_at)}, no answer", ASK)
        if rule == REPEATED_MAYBES:
            return Stall(rule, f"{ordinal(deal.maybe_count)} maybe since {self.day(_first_maybe(deal))}", ASK)
        if rule == MEETING_PASSED:
            assert deal.next_meeting_at is not None  # the rule fires only with a meeting
            return Stall(rule, f"meeting on {self.day(deal.next_meeting_at)} passed, nothing logged", MEETING)
        if rule == NO_NEXT_MEETING:
            last = deal.last_activity_at or deal.created_at
            return Stall(rule, f"no next meeting since your last update on {self.day(last)}", MEETING)
        assert deal.stage  # STUCK_IN_STAGE fires only with a stage
        days = self.days_ago(deal.stage_since or deal.created_at)
        usual = self._stage_allowed(deal.stage)[1]
        usual_text = "" if usual is None else f" (you usually take {_usual(usual)})"
        return Stall(STUCK_IN_STAGE, f"in {deal.stage} for {plural(days, 'day')}{usual_text}", ASK)


_HORIZON = 730  # local days back for which each zone's midnights are worked out once a day


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of the local `day`, in UTC. fold=0: a midnight skipped by DST maps to the
    first instant of that local day."""
    return datetime.combine(day, time()).replace(tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=128)
def _midnights(zone: ZoneInfo, today: date) -> tuple[datetime, ...]:
    """The local midnights starting the days (today - _HORIZON) .. (today + 1), ascending, in UTC: shared by
    every rep in the zone, so judging a deal's age is a bisect, not a zone conversion."""
    first = today - timedelta(days=_HORIZON)
    return tuple(_midnight(first + timedelta(days=i), zone) for i in range(_HORIZON + 2))


def _first_maybe(deal: Deal | DealRow) -> datetime:
    return deal.first_maybe_at or deal.last_maybe_at or deal.created_at


# ---------------------------------------------------------------- the digest

_NO_AMOUNT = Decimal("-Infinity")  # unknown amounts rank after every known one


def plan_digest(deals: Iterable[Deal | DealRow], now: datetime, tz: str, stats: RepStats = RepStats(),
                th: Thresholds = Thresholds(), limit: int = 10) -> Digest | None:
    """The rep's morning digest: stuck deals, longest waiting first; None when nothing is stuck.

    Priority: more local days waiting on a decision (since the earliest of the
    ask, the first maybe, the passed meeting, the last update, the last answer,
    the stage change or the deal's creation, whichever its stalls point to),
    then the bigger amount (numbers compared across currencies; it only orders),
    then the lower id. Keeps a heap of `limit`; never sorts the whole list.
    """
    judge = _Judge(now, zone(tz), stats, th)
    # A min-heap of the `limit` most urgent so far, heap[0] the least of them. Entries
    # are ((age, amount, -id, -seen), deal, rules): a bigger key is more urgent, and the
    # unique `-seen` settles every tie before a deal would be compared. Reasons are
    # written only for the deals kept.
    heap: list[tuple[tuple[int, Decimal, float, int], Deal | DealRow, list[str]]] = []
    stuck = 0
    for deal in deals:
        judged = judge.check(deal)
        if judged is None:
            continue
        stuck += 1
        found, since = judged
        # Full: a deal waiting fewer days than the least kept can't get in; an instant comparison
        # tells, without working out its local date.
        if len(heap) >= limit and (limit <= 0 or (heap[0][0][0] > 0 and since >= judge.cutoff(heap[0][0][0]))):
            continue
        age = max(judge.days_ago(since), 0)
        key = (age, _NO_AMOUNT if deal.amount is None else deal.amount,
               -math.inf if deal.id is None else -deal.id, -stuck)
        if len(heap) < limit:
            heapq.heappush(heap, (key, deal, found))
        elif key > heap[0][0]:
            heapq.heapreplace(heap, (key, deal, found))
    if not stuck:
        return None
    kept = sorted(heap, key=lambda entry: entry[0], reverse=True)
    lines = tuple(DigestLine(deal, judge.explain(deal, found), key[0]) for key, deal, found in kept)
    return Digest(lines, stuck - len(lines), _opening(stuck, len(lines)))


def _opening(stuck: int, shown: int) -> str:
    """Frames the morning: how many wait, and that a no is a fine outcome. Never a scolding."""
    if stuck == 1:
        return "One deal is waiting on a decision. A clear no is a good outcome too."
    if 0 < shown < stuck:
        return (f"{stuck} deals are waiting on a decision; here are the {shown} that have waited longest. "
                "A clear no is a good outcome too.")
    return f"{stuck} deals are waiting on a decision. A clear no is a good outcome too."


# ---------------------------------------------------------------- words


def _usual(median_days: float) -> str:
    shown = round(median_days)
    return "less than a day" if shown == 0 else str(shown)
