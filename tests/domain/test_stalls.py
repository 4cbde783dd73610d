"""The nudger's stall rules and the digest plan, on deals built through `apply` with a fixed clock."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain import stalls as stalls_module
from handlers.domain.model import Activity, Deal, Kind, apply, new_deal
from handlers.domain.schedule import add_working_days
from handlers.domain.stalls import (
    DealRow,
    Digest,
    RepStats,
    Stall,
    Thresholds,
    plan_digest,
    stalls,
)
from handlers.domain.text import ordinal as _ordinal


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


NOW = utc(2026, 11, 19, 15, 0)  # Thursday
DAY = timedelta(days=1)


def build(*acts: tuple, created: datetime | None = None, **fields) -> Deal:
    """A deal created `created` (default 60 days before NOW) with `acts` applied: (kind, at[, when][, text])."""
    deal, added = new_deal("U1", "Acme", created or NOW - 60 * DAY, **fields)
    deal = apply(deal, added)
    for kind, at, *rest in acts:
        when = next((r for r in rest if isinstance(r, datetime)), None)
        text = next((r for r in rest if isinstance(r, str)), "")
        deal = apply(deal, Activity(kind, at, text=text, when=when))
    return deal


def rules(deal: Deal, now: datetime = NOW, tz: str = "UTC", **kw) -> list[str]:
    return [s.rule for s in stalls(deal, now, tz, **kw)]


def reason(deal: Deal, rule: str, now: datetime = NOW, tz: str = "UTC", **kw) -> str:
    return next(s.reason for s in stalls(deal, now, tz, **kw) if s.rule == rule)


def recent() -> tuple:
    return (Kind.NOTE, NOW - DAY)


# --------------------------------------------------------------- repeated maybes


@pytest.mark.parametrize(("maybes", "fires"), [(1, False), (2, True), (3, True)])
def test_repeated_maybes_threshold(maybes, fires):
    deal = build(*[(Kind.MAYBE, NOW - (5 - i) * DAY) for i in range(maybes)])
    assert ("repeated_maybes" in rules(deal)) is fires


def test_repeated_maybes_reason_names_the_first_maybe():
    deal = build((Kind.MAYBE, utc(2026, 10, 2, 12)), (Kind.MAYBE, utc(2026, 11, 1)), (Kind.MAYBE, NOW - DAY))
    assert reason(deal, "repeated_maybes") == "third maybe since Oct 2"
    assert stalls(deal, NOW, "UTC")[0].suggestion == "ask"


def test_repeated_maybes_threshold_is_configurable():
    deal = build((Kind.MAYBE, NOW - 3 * DAY), (Kind.MAYBE, NOW - DAY))
    assert "repeated_maybes" not in rules(deal, th=Thresholds(repeated_maybes=3))


def test_ordinals():
    assert [_ordinal(n) for n in (2, 3, 10, 11, 12, 13, 21, 22, 23, 101, 111)] == [
        "second", "third", "tenth", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th"]


# --------------------------------------------------------------- no next meeting


@pytest.mark.parametrize(("days", "fires"), [(6, False), (7, True), (8, True)])
def test_no_next_meeting_threshold(days, fires):
    deal = build((Kind.NOTE, NOW - days * DAY))
    assert ("no_next_meeting" in rules(deal)) is fires


def test_no_next_meeting_counts_local_dates():
    # 6 days 13 hours elapsed, but Nov 12 -> Nov 19 is 7 days on the rep's calendar.
    deal = build((Kind.NOTE, utc(2026, 11, 12, 20, 0)))
    now = utc(2026, 11, 19, 9, 0)
    assert rules(deal, now) == ["no_next_meeting"]
    assert reason(deal, "no_next_meeting", now) == "no next meeting since your last update on Nov 12"
    assert stalls(deal, now, "UTC")[0].suggestion == "meeting"


def test_reason_dates_are_in_the_reps_zone():
    deal = build((Kind.NOTE, utc(2026, 11, 12, 23, 30)))  # 05:00 Nov 13 in Kolkata
    later = NOW + DAY
    assert reason(deal, "no_next_meeting", later, "Asia/Kolkata").endswith("on Nov 13")
    assert reason(deal, "no_next_meeting", later, "UTC").endswith("on Nov 12")
    assert reason(deal, "no_next_meeting", later, "Pacific/Chatham").endswith("on Nov 13")
    # ... and so are the day counts: Nov 13 -> Nov 19 (20:30 in Kolkata) is 6 days, Nov 12 -> Nov 19 is 7.
    assert rules(deal, NOW, "Asia/Kolkata") == []
    assert rules(deal, NOW, "UTC") == ["no_next_meeting"]


def test_reason_dates_name_the_year_when_not_this_one():
    deal = build((Kind.MAYBE, utc(2025, 10, 2)), (Kind.MAYBE, NOW - DAY), created=utc(2025, 9, 1))
    assert reason(deal, "repeated_maybes") == "second maybe since Oct 2, 2025"
    # The year is the rep's: 23:30 UTC Dec 31 2026 is already Jan 1 2027 in Kolkata.
    late = build((Kind.NOTE, utc(2026, 12, 31, 23, 30)))
    assert reason(late, "no_next_meeting", utc(2027, 1, 10), "Asia/Kolkata").endswith("on Jan 1")
    assert reason(late, "no_next_meeting", utc(2027, 1, 10), "UTC").endswith("on Dec 31, 2026")


# --------------------------------------------------------------- meeting passed


@pytest.mark.parametrize(("days", "fires"), [(0, False), (1, True), (2, True)])
def test_meeting_passed_threshold(days, fires):
    meeting = NOW - days * DAY - timedelta(hours=1)
    deal = build((Kind.MEETING, NOW - 10 * DAY, meeting))
    got = rules(deal)
    assert ("meeting_passed" in got) is fires
    assert "no_next_meeting" not in got  # the passed meeting is the news, and it gets its grace day


def test_meeting_passed_reason_and_suggestion():
    deal = build((Kind.MEETING, utc(2026, 11, 10), utc(2026, 11, 18, 16, 0)))
    got = stalls(deal, NOW, "UTC")
    assert got == [Stall("meeting_passed", "meeting on Nov 18 passed, nothing logged", "meeting")]


def test_meeting_passed_clears_when_something_is_logged_after_it():
    deal = build((Kind.MEETING, utc(2026, 11, 10), utc(2026, 11, 16, 16, 0)), (Kind.NOTE, utc(2026, 11, 16, 17)))
    assert rules(deal) == []  # logged 3 days ago: not stale yet
    assert rules(deal, NOW + 4 * DAY) == ["no_next_meeting"]


def test_meeting_passed_long_ago_is_not_also_no_next_meeting():
    deal = build((Kind.MEETING, utc(2026, 10, 1), utc(2026, 10, 8)))
    assert rules(deal) == ["meeting_passed"]


# --------------------------------------------------------------- silence


@pytest.mark.parametrize(("touches", "fires"), [(3, False), (4, True), (5, True)])
def test_silence_threshold(touches, fires):
    deal = build(*[(Kind.TOUCH, NOW - (touches - i) * DAY) for i in range(touches)])
    assert ("silence" in rules(deal)) is fires


def test_silence_reason_and_an_answer_resets_it():
    touches = [(Kind.TOUCH, NOW - (6 - i) * DAY) for i in range(5)]
    deal = build(*touches)
    assert stalls(deal, NOW, "UTC") == [
        Stall("silence", "5 tries without an answer: time for a last-try message", "breakup")]
    answered = build(*touches, (Kind.MAYBE, NOW - DAY))
    assert "silence" not in rules(answered)


# --------------------------------------------------------------- stuck in stage


@pytest.mark.parametrize(("days", "fires"), [(29, False), (30, False), (31, True)])
def test_stuck_in_stage_default(days, fires):
    deal = build((Kind.STAGE, NOW - days * DAY, "consensus"), recent())
    assert ("stuck_in_stage" in rules(deal)) is fires


@pytest.mark.parametrize(("days", "fires"), [(23, False), (24, False), (25, True)])
def test_stuck_in_stage_against_the_reps_median(days, fires):
    stats = RepStats(median_stage_days={"consensus": (12.0, 3)})
    deal = build((Kind.STAGE, NOW - days * DAY, "consensus"), recent())
    assert ("stuck_in_stage" in rules(deal, stats=stats)) is fires


def test_stuck_in_stage_needs_three_samples():
    deal = build((Kind.STAGE, NOW - 25 * DAY, "consensus"), recent())
    assert "stuck_in_stage" not in rules(deal, stats=RepStats(median_stage_days={"consensus": (12.0, 2)}))
    assert "stuck_in_stage" not in rules(deal, stats=RepStats(median_stage_days={"explore": (1.0, 9)}))
    assert rules(deal, stats=RepStats(median_stage_days={"consensus": (12.0, 3)})) == ["stuck_in_stage"]


def test_stuck_in_stage_reason():
    deal = build((Kind.STAGE, NOW - 45 * DAY, "consensus"), recent())
    assert reason(deal, "stuck_in_stage", stats=RepStats(median_stage_days={"consensus": (12.4, 5)})) == (
        "in consensus for 45 days (you usually take 12)")
    assert reason(deal, "stuck_in_stage") == "in consensus for 45 days"
    unstaged = build((Kind.NOTE, NOW - 45 * DAY), recent())
    assert "stuck_in_stage" not in rules(unstaged)


# --------------------------------------------------------------- effort beyond value


@pytest.mark.parametrize(("touches", "fires"), [(7, False), (8, True), (9, True)])
def test_effort_beyond_value_threshold(touches, fires):
    deal = build(*[(Kind.TOUCH, NOW - (touches - i) * DAY) for i in range(touches)], amount=Decimal(500))
    assert ("effort_beyond_value" in rules(deal, stats=RepStats(median_amounts={None: Decimal(1000)}))) is fires


def test_effort_beyond_value_needs_a_known_smaller_amount():
    touches = [(Kind.TOUCH, NOW - (12 - i) * DAY) for i in range(12)]
    median = RepStats(median_amounts={None: Decimal(1000)})
    assert "effort_beyond_value" not in rules(build(*touches, amount=Decimal(1000)), stats=median)
    assert "effort_beyond_value" not in rules(build(*touches), stats=median)  # amount unknown
    assert "effort_beyond_value" not in rules(build(*touches, amount=Decimal(10)))  # median unknown
    small = build(*touches, amount=Decimal(999))
    got = stalls(small, NOW, "UTC", stats=median)
    # Taking the no leads: it names the draft to offer; the last try follows.
    assert [(s.rule, s.suggestion) for s in got] == [("effort_beyond_value", "take_no"), ("silence", "breakup")]
    assert got[0].reason == "12 tries for a deal below your usual size: consider taking the no"


def test_effort_compares_a_deal_with_its_own_currencys_median():
    touches = [(Kind.TOUCH, NOW - (12 - i) * DAY) for i in range(12)]
    stats = RepStats(median_amounts={"USD": Decimal(20000), "JPY": Decimal(900000)})
    assert "effort_beyond_value" in rules(build(*touches, amount=Decimal(5000), currency="USD"), stats=stats)
    # ¥1,000,000 is above the usual yen deal, though the number is far above the dollar median too
    assert "effort_beyond_value" not in rules(build(*touches, amount=Decimal(1000000), currency="JPY"), stats=stats)
    assert "effort_beyond_value" in rules(build(*touches, amount=Decimal(500000), currency="JPY"), stats=stats)
    # no euro deals to judge by: no verdict, rather than a comparison with dollars
    assert "effort_beyond_value" not in rules(build(*touches, amount=Decimal(1), currency="EUR"), stats=stats)


def test_effort_counts_every_touch_not_only_the_unanswered_run():
    acts = [(Kind.TOUCH, NOW - (20 - i) * DAY) for i in range(6)]
    acts += [(Kind.MAYBE, NOW - 10 * DAY)] + [(Kind.TOUCH, NOW - (5 - i) * DAY) for i in range(2)]
    deal = build(*acts, amount=Decimal(5))
    assert rules(deal, stats=RepStats(median_amounts={None: Decimal(10)})) == ["effort_beyond_value"]


# --------------------------------------------------------------- the decision ask


BERLIN = "Europe/Berlin"
FRIDAY_ASK = local(BERLIN, 2026, 11, 20, 10, 0)


def test_ask_pauses_across_the_weekend_until_wednesday():
    """Asked Friday: 3 working days end with Wednesday's start, so it is back in Wednesday's 09:00 digest."""
    deal = build((Kind.MAYBE, utc(2026, 11, 2)), (Kind.MAYBE, utc(2026, 11, 9)), (Kind.ASK, FRIDAY_ASK))
    for now in (local(BERLIN, 2026, 11, 23, 12), local(BERLIN, 2026, 11, 24, 23, 59, 59)):
        assert stalls(deal, now, BERLIN) == [], now
    for now in (local(BERLIN, 2026, 11, 25, 0, 0), local(BERLIN, 2026, 11, 25, 9, 0)):
        back = stalls(deal, now, BERLIN)
        assert back[0] == Stall("ask_unanswered", "asked for a decision Nov 20, no answer", "ask")
        assert [s.rule for s in back] == ["ask_unanswered", "repeated_maybes"]


def test_a_late_ask_is_back_at_the_start_of_the_day_not_at_its_hour():
    deal = build((Kind.ASK, local(BERLIN, 2026, 11, 20, 15, 0)))  # Friday 15:00
    assert rules(deal, local(BERLIN, 2026, 11, 25, 9, 0), BERLIN) == ["ask_unanswered"]  # not at 15:00
    assert rules(deal, local(BERLIN, 2026, 11, 24, 23, 0), BERLIN) == []


def test_ask_wait_is_configurable():
    deal = build((Kind.ASK, FRIDAY_ASK))
    one = Thresholds(ask_wait_working_days=1)
    assert rules(deal, local(BERLIN, 2026, 11, 23, 0, 0), BERLIN, th=one) == ["ask_unanswered"]
    assert rules(deal, local(BERLIN, 2026, 11, 22, 23, 59), BERLIN, th=one) == []
    assert rules(deal, local(BERLIN, 2026, 11, 23, 0, 0), BERLIN) == []  # the default 3 still waits


def test_an_answer_ends_the_ask():
    deal = build((Kind.ASK, FRIDAY_ASK), (Kind.MAYBE, local(BERLIN, 2026, 11, 23, 10)))
    assert deal.asked_at is None
    assert "ask_unanswered" not in rules(deal, local(BERLIN, 2026, 12, 10), BERLIN)


# --------------------------------------------------------------- never nudged


def _stuck_everywhere(*more: tuple) -> Deal:
    """A deal every rule would flag: maybes, silence, an old stage, effort, nothing logged for weeks."""
    acts = [(Kind.STAGE, NOW - 50 * DAY, "consensus"), (Kind.MAYBE, NOW - 40 * DAY), (Kind.MAYBE, NOW - 35 * DAY)]
    acts += [(Kind.TOUCH, NOW - (30 - i) * DAY) for i in range(9)]
    return build(*acts, *more, amount=Decimal(1))


STATS = RepStats(median_amounts={None: Decimal(100)})


def test_the_control_deal_is_stuck():
    assert set(rules(_stuck_everywhere(), stats=STATS)) == {
        "effort_beyond_value", "silence", "repeated_maybes", "no_next_meeting", "stuck_in_stage"}


@pytest.mark.parametrize("kind", [Kind.WON, Kind.NO, Kind.DROP])
def test_closed_deals_are_never_nudged(kind):
    deal = _stuck_everywhere((kind, NOW - 20 * DAY))
    assert stalls(deal, NOW, "UTC", STATS) == []
    reopened = apply(deal, Activity(Kind.REOPEN, NOW - 10 * DAY))
    assert stalls(reopened, NOW, "UTC", STATS) != []


def test_snoozed_deals_are_never_nudged_until_the_snooze_ends():
    end = NOW + 2 * DAY
    deal = _stuck_everywhere((Kind.SNOOZE, NOW - 20 * DAY, end))
    assert stalls(deal, NOW, "UTC", STATS) == []
    assert stalls(deal, end - timedelta(seconds=1), "UTC", STATS) == []
    assert stalls(deal, end, "UTC", STATS) != []
    # A maybe naming a date ("try after Jan 15") snoozes too.
    maybe_later = build((Kind.MAYBE, NOW - 9 * DAY), (Kind.MAYBE, NOW - 8 * DAY, NOW + 30 * DAY))
    assert stalls(maybe_later, NOW, "UTC") == []


def test_future_meeting_with_recent_activity_is_never_nudged():
    meeting = NOW + 3 * DAY
    deal = _stuck_everywhere((Kind.MEETING, NOW - 6 * DAY, meeting))
    assert stalls(deal, NOW, "UTC", STATS) == []
    # Stale activity (7 days) with a meeting still ahead: judged, but "no next meeting" cannot apply.
    stale = _stuck_everywhere((Kind.MEETING, NOW - 7 * DAY, NOW + 30 * DAY), (Kind.TOUCH, NOW - 7 * DAY))
    got = rules(stale, stats=STATS)
    assert "repeated_maybes" in got and "no_next_meeting" not in got and "meeting_passed" not in got


def test_an_on_track_deal_has_no_stalls():
    assert stalls(build((Kind.NOTE, NOW - DAY)), NOW, "UTC") == []


# --------------------------------------------------------------- thresholds


def test_thresholds_from_overrides():
    th = Thresholds.from_overrides({"silence_touches": 5, "stage_factor": 3, "nonsense": 1,
                                    "no_meeting_days": "10", "effort_touches": -1, "repeated_maybes": 2.5,
                                    "meeting_passed_days": True, "stage_default_days": float("inf"),
                                    "silence_touches_x": 1, "ask_wait_working_days": float("nan")})
    assert th == Thresholds(silence_touches=5, stage_factor=3.0)
    assert isinstance(th.stage_factor, float)
    assert Thresholds.from_overrides(None) == Thresholds()


# --------------------------------------------------------------- the digest


def _silent(deal_id: int, since_days: int, amount: Decimal | None = None, currency: str = "USD") -> Deal:
    """A deal whose run of 4 unanswered touches started after an answer `since_days` ago."""
    acts = [(Kind.MAYBE, NOW - since_days * DAY)] + [(Kind.TOUCH, NOW - (4 - i) * DAY) for i in range(4)]
    return build(*acts, id=deal_id, amount=amount, currency=currency)


def test_no_digest_when_nothing_is_stuck():
    assert plan_digest([], NOW, "UTC") is None
    calm = [build((Kind.NOTE, NOW - DAY), id=1), _stuck_everywhere((Kind.WON, NOW)).replace(id=2)]
    assert plan_digest(calm, NOW, "UTC") is None


def test_digest_order_overdue_then_amount_then_id():
    deals = [
        _silent(1, 10, Decimal(100)),
        _silent(2, 30, None),
        _silent(3, 10, Decimal(5000), "JPY"),  # a bigger number: ordering only, currencies aside
        _silent(4, 10, Decimal(100)),
        _silent(5, 10, None),
        build((Kind.NOTE, NOW - DAY), id=6),  # on track
    ]
    digest = plan_digest(deals, NOW, "UTC")
    assert [line.deal.id for line in digest.lines] == [2, 3, 1, 4, 5]
    assert [line.age_days for line in digest.lines] == [30, 10, 10, 10, 10]
    assert all(line.stalls[0].rule == "silence" for line in digest.lines)
    assert digest.more == 0
    assert digest.opening == "5 deals are waiting on a decision. A clear no is a good outcome too."


def test_age_is_the_longest_wait_among_the_stalls():
    # Asked Nov 12 (answered nothing since), but the first maybe was Oct 2: waiting since Oct 2.
    deal = build((Kind.MAYBE, utc(2026, 10, 2)), (Kind.MAYBE, utc(2026, 11, 1)), (Kind.ASK, utc(2026, 11, 12)),
                 id=1)
    digest = plan_digest([deal], NOW, "UTC")
    assert digest.lines[0].age_days == (NOW.date() - utc(2026, 10, 2).date()).days == 48
    assert [s.rule for s in digest.lines[0].stalls] == ["ask_unanswered", "repeated_maybes", "no_next_meeting"]


def test_digest_limit_and_more():
    deals = [_silent(i, 5 + i) for i in range(1, 16)]
    digest = plan_digest(deals, NOW, "UTC", limit=10)
    assert len(digest.lines) == 10 and digest.more == 5
    assert [line.deal.id for line in digest.lines] == list(range(15, 5, -1))
    assert digest.opening == ("15 deals are waiting on a decision; here are the 10 that have waited longest. "
                              "A clear no is a good outcome too.")
    assert plan_digest(deals, NOW, "UTC", limit=15).more == 0


def test_opening_for_one_deal():
    digest = plan_digest([_silent(1, 5)], NOW, "UTC")
    assert digest == Digest(digest.lines, 0, "One deal is waiting on a decision. A clear no is a good outcome too.")
    assert len(digest.lines) == 1


def test_digest_reasons_use_the_reps_zone():
    deal = build((Kind.NOTE, utc(2026, 11, 12, 23, 30)), id=1)
    digest = plan_digest([deal], NOW + DAY, "Asia/Kolkata")
    assert digest.lines[0].stalls[0].reason == "no next meeting since your last update on Nov 13"


# --------------------------------------------------------------- properties

_KINDS = list(Kind)


@st.composite
def deals(draw, deal_id: int) -> Deal:
    created = NOW - timedelta(hours=draw(st.integers(0, 24 * 400)))
    deal, added = new_deal("U1", "Acme", created, id=deal_id,
                           amount=draw(st.none() | st.integers(0, 10**6).map(Decimal)),
                           stage=draw(st.none() | st.sampled_from(["explore", "consensus"])))
    deal = apply(deal, added)
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(_KINDS))
        at = created + timedelta(hours=draw(st.integers(0, max(0, int((NOW - created).total_seconds() // 3600)))))
        when = at + timedelta(hours=draw(st.integers(-48, 24 * 60))) if kind in (
            Kind.MEETING, Kind.SNOOZE) or (kind is Kind.MAYBE and draw(st.booleans())) else None
        deal = apply(deal, Activity(kind, at, text="consensus" if kind is Kind.STAGE else "", when=when))
    return deal


@st.composite
def pipelines(draw) -> list[Deal]:
    n = draw(st.integers(0, 25))
    return [draw(deals(i + 1)) for i in range(n)]


_ZONES = ["UTC", "Asia/Kolkata", "Pacific/Chatham", "America/Los_Angeles", "Europe/Berlin"]


@settings(max_examples=60, deadline=None)
@given(pipeline=pipelines(), limit=st.integers(0, 12), tz=st.sampled_from(_ZONES),
       median=st.none() | st.integers(1, 10**6).map(Decimal))
def test_digest_properties(pipeline, limit, tz, median):
    stats = RepStats(median_amounts={} if median is None else {None: median}, median_stage_days={"consensus": (10.0, 4)})
    digest = plan_digest(pipeline, NOW, tz, stats, limit=limit)
    stuck = [d for d in pipeline if stalls(d, NOW, tz, stats)]
    if not stuck:
        assert digest is None
        return
    assert len(digest.lines) <= limit
    assert len(digest.lines) + digest.more == len(stuck)
    for line in digest.lines:
        d = line.deal
        assert d.is_open
        assert d.snoozed_until is None or d.snoozed_until <= NOW
        assert list(line.stalls) == stalls(d, NOW, tz, stats)
        assert line.age_days >= 0
    # The heap keeps exactly the top of the full order, which is (age desc, amount desc, id asc).
    full = plan_digest(pipeline, NOW, tz, stats, limit=len(pipeline))
    assert full.lines[:limit] == digest.lines
    keys = [(-ln.age_days, -(ln.deal.amount if ln.deal.amount is not None else Decimal("-Infinity")), ln.deal.id)
            for ln in full.lines]
    assert keys == sorted(keys)


def _reference(deal: Deal, now: datetime, tz: str, stats: RepStats, th: Thresholds) -> list[str]:
    """The rules read straight from the brief, one local date at a time: `stalls` must agree."""
    z = ZoneInfo(tz)
    today = now.astimezone(z).date()

    def ago(t: datetime) -> int:
        return (today - t.astimezone(z).date()).days

    last, meeting = deal.last_activity_at, deal.next_meeting_at
    future = meeting is not None and meeting > now
    if (not deal.is_open or (deal.snoozed_until is not None and deal.snoozed_until > now)
            or (future and ago(last) < th.no_meeting_days)
            or (deal.asked_at is not None
                and today < add_working_days(deal.asked_at, th.ask_wait_working_days, tz)
                .astimezone(z).date())):
        return []
    found = set()
    if deal.asked_at is not None:
        found.add("ask_unanswered")
    if deal.maybe_count >= th.repeated_maybes:
        found.add("repeated_maybes")
    if meeting is not None and not future and last <= meeting:
        if ago(meeting) >= th.meeting_passed_days:
            found.add("meeting_passed")
    elif not future and ago(last) >= th.no_meeting_days:
        found.add("no_next_meeting")
    if deal.touches_since_answer >= th.silence_touches:
        found.add("silence")
    if deal.stage:
        median, samples = stats.median_stage_days.get(deal.stage, (None, 0))
        allowed = th.stage_factor * median if median is not None and samples >= 3 else th.stage_default_days
        if ago(deal.stage_since) > allowed:
            found.add("stuck_in_stage")
    usual = stats.median_amounts.get(deal.currency)
    if deal.touch_count >= th.effort_touches and deal.amount is not None and usual is not None and deal.amount < usual:
        found.add("effort_beyond_value")
    order = ["effort_beyond_value", "silence", "ask_unanswered", "repeated_maybes", "meeting_passed",
             "no_next_meeting", "stuck_in_stage"]
    return [r for r in order if r in found]


@settings(max_examples=300, deadline=None)
@given(deal=deals(1), shift=st.integers(-24 * 3, 24 * 3),
       tz=st.sampled_from(_ZONES + ["America/Havana", "America/Santiago", "Africa/Cairo", "Australia/Lord_Howe"]),
       median=st.none() | st.integers(1, 10**6).map(Decimal), stage_median=st.floats(0, 40),
       wait=st.integers(0, 7), no_meeting=st.integers(0, 10))
def test_stalls_agree_with_the_plain_reading(deal, shift, tz, median, stage_median, wait, no_meeting):
    now = NOW + timedelta(hours=shift)
    stats = RepStats(median_amounts={} if median is None else {None: median}, median_stage_days={"consensus": (stage_median, 3)})
    th = Thresholds(ask_wait_working_days=wait, no_meeting_days=no_meeting)
    got = stalls(deal, now, tz, stats, th)
    assert [s.rule for s in got] == _reference(deal, now, tz, stats, th)


@settings(max_examples=300, deadline=None)
@given(asked=st.integers(-24 * 20, 0), shift=st.integers(0, 24 * 20),
       tz=st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Chatham", "Africa/Cairo"]),
       wait=st.integers(0, 12))
def test_ask_pause_is_add_working_days(asked, shift, tz, wait):
    """The digest's shortcuts for the ask pause (cached end dates, a bound on old asks) never change the answer:
    paused until the local day on which `add_working_days` lands begins."""
    asked_at = utc(2026, 3, 20, 12) + timedelta(hours=asked)
    now = asked_at + timedelta(hours=shift)
    deal = build((Kind.ASK, asked_at), created=asked_at - DAY)
    z = ZoneInfo(tz)
    paused = now.astimezone(z).date() < add_working_days(asked_at, wait, tz).astimezone(z).date()
    th = Thresholds(ask_wait_working_days=wait)
    assert ("ask_unanswered" not in rules(deal, now, tz, th=th)) is paused


@settings(max_examples=200, deadline=None)
@given(pipeline=pipelines(), tz=st.sampled_from(_ZONES), shift=st.integers(-24 * 3, 24 * 3),
       median=st.none() | st.integers(1, 10**6).map(Decimal))
def test_a_deal_row_is_judged_like_its_deal(pipeline, tz, shift, median):
    """Storage streams DealRows for the morning plan: same stalls, same digest as the Deals they come from."""
    now = NOW + timedelta(hours=shift)
    stats = RepStats(median_amounts={} if median is None else {None: median}, median_stage_days={"consensus": (10.0, 4)})
    open_deals = [d for d in pipeline if d.is_open]
    rows = [DealRow.of(d) for d in open_deals]
    for deal, row in zip(open_deals, rows, strict=True):
        assert stalls(row, now, tz, stats) == stalls(deal, now, tz, stats)
    by_deals, by_rows = plan_digest(open_deals, now, tz, stats), plan_digest(rows, now, tz, stats)
    assert (by_deals is None) == (by_rows is None)
    if by_deals is not None:
        assert [(ln.deal.id, ln.stalls, ln.age_days) for ln in by_rows.lines] == [
            (ln.deal.id, ln.stalls, ln.age_days) for ln in by_deals.lines]
        assert (by_rows.more, by_rows.opening) == (by_deals.more, by_deals.opening)


def test_a_deal_row_is_an_open_deal():
    with pytest.raises(ValueError):
        DealRow.of(build((Kind.WON, NOW - DAY)))


@settings(max_examples=300, deadline=None)
@given(tz=st.sampled_from(_ZONES + ["America/Havana", "America/Santiago", "Africa/Cairo", "Australia/Lord_Howe"]),
       now_h=st.integers(-24 * 400, 24 * 400), at_h=st.integers(-24 * 900, 24 * 3), minute=st.integers(0, 59))
def test_days_ago_by_cached_midnights_is_the_calendar(tz, now_h, at_h, minute):
    """The judge counts days with a bisect over each zone's cached midnights: it must equal the dates."""
    now = NOW + timedelta(hours=now_h)
    at = now + timedelta(hours=at_h, minutes=minute)
    z = ZoneInfo(tz)
    judge = stalls_module._Judge(now, z, RepStats(), Thresholds())
    assert judge.days_ago(at) == (now.astimezone(z).date() - at.astimezone(z).date()).days
    days = max(0, -at_h // 24)
    assert (at < judge.cutoff(days)) is (judge.days_ago(at) >= days)


def test_pure():
    tree = ast.parse(Path(stalls_module.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in names if m.split(".")[0] in {"slack_sdk", "slack_bolt", "sqlalchemy"}}
