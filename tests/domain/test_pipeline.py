"""Home's and `/deal list`'s groups: "Needs a decision" is exactly the digest's list, in its order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain.model import Activity, Deal, Kind, Status, apply, new_deal
from handlers.domain.pipeline import sort_pipeline
from handlers.domain.stalls import RepStats, Thresholds, plan_digest

NOW = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)  # Thursday
DAY = timedelta(days=1)


def build(deal_id: int, *acts: tuple, created: datetime | None = None, **fields) -> Deal:
    deal, added = new_deal("U1", f"Co {deal_id}", created or NOW - 60 * DAY, id=deal_id, **fields)
    deal = apply(deal, added)
    for kind, at, *when in acts:
        deal = apply(deal, Activity(kind, at, when=when[0] if when else None))
    return deal


DEALS = [
    build(1, (Kind.MAYBE, NOW - 3 * DAY), (Kind.MAYBE, NOW - DAY)),  # repeated maybes: listed
    build(2, (Kind.MAYBE, NOW - DAY)),  # one maybe: not yet
    build(3, (Kind.TOUCH, NOW - DAY)),  # one unanswered try: not yet
    build(4, (Kind.MAYBE, NOW - 3 * DAY), (Kind.MAYBE, NOW - DAY), (Kind.SNOOZE, NOW - DAY, NOW + 9 * DAY)),
    build(5, (Kind.MEETING, NOW - 2 * DAY, NOW - timedelta(hours=2))),  # passed today: within its grace day
    build(6, (Kind.MEETING, NOW - DAY, NOW + 3 * DAY)),  # booked: on track
    build(7, created=NOW - 20 * DAY),  # silent since it was added: listed first (waited longest)
    build(8, (Kind.WON, NOW - DAY)),
    build(9, (Kind.MAYBE, NOW - 2 * DAY), (Kind.NO, NOW - timedelta(hours=3))),
]


def ids(deals) -> list[int]:
    return [d.id for d in deals]


def test_groups():
    p = sort_pipeline(DEALS, NOW, "America/New_York", "all")
    assert [s.deal.id for s in p.needs_decision] == [7, 1]
    assert ids(p.meeting_passed) == [5] and ids(p.snoozed) == [4] and ids(p.on_track) == [2, 3, 6]
    assert ids(p.closed) == [9, 8]  # the newest decision first
    assert p.needs_decision[1].stalls[0].reason == "second maybe since Nov 16"
    assert p.open_count == 7 and p.total == 9


@pytest.mark.parametrize("which,want", [("open", [7, 1, 5, 2, 3, 6, 4]), ("maybes", [1, 2, 4]),
                                        ("closed", [8, 9]), ("all", list(range(1, 10)))])
def test_filters(which, want):
    p = sort_pipeline(DEALS, NOW, "UTC", which)
    shown = [s.deal.id for s in p.needs_decision] + ids(p.meeting_passed) + ids(p.on_track) + ids(p.snoozed)
    assert sorted(shown + ids(p.closed)) == sorted(want)


def test_a_passed_meeting_is_never_on_track():
    after_grace = sort_pipeline([DEALS[4]], NOW + 2 * DAY, "UTC")
    assert [s.stalls[0].rule for s in after_grace.needs_decision] == ["meeting_passed"]
    assert not sort_pipeline([DEALS[4]], NOW, "UTC").on_track


_acts = st.lists(st.tuples(st.sampled_from([Kind.MAYBE, Kind.TOUCH, Kind.ASK, Kind.NOTE, Kind.MEETING,
                                            Kind.SNOOZE, Kind.STAGE]),
                           st.integers(0, 40 * 24), st.integers(-10 * 24, 20 * 24)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_acts, st.integers(0, 60), st.sampled_from([None, 50, 5000]),
                          st.sampled_from(["UTC", "Asia/Kolkata", "America/Los_Angeles"])), max_size=12),
       st.integers(2, 4))
def test_needs_a_decision_is_the_digests_list_in_its_order(specs, repeated_maybes):
    """Whatever the deals, the first group is what `plan_digest` lists, with the same reasons."""
    deals = []
    for i, (acts, created, amount, _tz) in enumerate(specs, start=1):
        d, added = new_deal("U1", f"Co {i}", NOW - created * DAY - DAY, id=i,
                            amount=None if amount is None else Decimal(amount), stage="proposal")
        d = apply(d, added)
        for kind, hours_ago, when_hours in sorted(acts, key=lambda a: -a[1]):
            at = NOW - timedelta(hours=hours_ago)
            text = "negotiation" if kind is Kind.STAGE else ""
            d = apply(d, Activity(kind, at, text, when=at + timedelta(hours=when_hours)))
        deals.append(d)
    tz = specs[0][3] if specs else "UTC"
    stats = RepStats(median_amounts={None: Decimal(1000)})
    th = Thresholds(repeated_maybes=repeated_maybes)
    p = sort_pipeline(deals, NOW, tz, "open", stats, th)
    digest = plan_digest(deals, NOW, tz, stats, th, limit=len(deals))
    want = [(line.deal.id, line.stalls) for line in digest.lines] if digest else []
    assert [(s.deal.id, s.stalls) for s in p.needs_decision] == want
    assert all(d.next_meeting_at is None or d.next_meeting_at > NOW for d in p.on_track)
    assert all(d.snoozed_until is None or d.snoozed_until <= NOW for d in p.on_track + p.meeting_passed)
    assert all(d.status is Status.OPEN for d in p.on_track + p.snoozed + p.meeting_passed)
