"""Local days, working days and digest due-ness, across DST and odd offsets."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain import schedule
from handlers.domain.schedule import (
    add_working_days,
    digest_due,
    is_working_day,
    local_day,
    working_days_after,
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


# --------------------------------------------------------------- local_day


@pytest.mark.parametrize(("now", "tz", "want"), [
    (utc(2026, 11, 12, 23, 30), "Asia/Kolkata", date(2026, 11, 13)),  # 05:00 IST
    (utc(2026, 11, 12, 18, 29), "Asia/Kolkata", date(2026, 11, 12)),  # 23:59 IST
    (utc(2026, 11, 12, 18, 30), "Asia/Kolkata", date(2026, 11, 13)),  # 00:00 IST
    (utc(2026, 11, 12, 10, 14), "Pacific/Chatham", date(2026, 11, 12)),  # 23:59 +13:45
    (utc(2026, 11, 12, 10, 15), "Pacific/Chatham", date(2026, 11, 13)),  # 00:00 +13:45
    (utc(2026, 11, 13, 4, 0), "America/Los_Angeles", date(2026, 11, 12)),  # 20:00 PST
    (utc(2026, 11, 13, 4, 0), "UTC", date(2026, 11, 13)),
])
def test_local_day(now, tz, want):
    assert local_day(now, tz) == want


def test_unknown_zone_reads_as_utc():
    assert local_day(utc(2026, 11, 12, 23, 30), "Not/AZone") == date(2026, 11, 12)
    assert local_day(utc(2026, 11, 12, 23, 30), "") == date(2026, 11, 12)


def test_naive_now_reads_as_utc():
    assert local_day(datetime(2026, 11, 12, 23, 30), "Asia/Kolkata") == date(2026, 11, 13)


# --------------------------------------------------------------- working days


def test_is_working_day():
    week = [date(2026, 11, 16) + timedelta(days=i) for i in range(7)]  # Mon..Sun
    assert [is_working_day(d) for d in week] == [True] * 5 + [False] * 2
    assert all(is_working_day(d, weekends=True) for d in week)


@pytest.mark.parametrize(("start", "n", "want"), [
    ((2026, 11, 20, 15, 0), 3, (2026, 11, 25, 15, 0)),  # Fri -> Wed
    ((2026, 11, 21, 10, 0), 3, (2026, 11, 25, 10, 0)),  # Sat -> Wed
    ((2026, 11, 22, 10, 0), 1, (2026, 11, 23, 10, 0)),  # Sun -> Mon
    ((2026, 11, 16, 9, 30), 3, (2026, 11, 19, 9, 30)),  # Mon -> Thu
    ((2026, 11, 16, 9, 30), 5, (2026, 11, 23, 9, 30)),  # Mon -> next Mon
    ((2026, 11, 18, 9, 30), 0, (2026, 11, 18, 9, 30)),
])
def test_add_working_days(start, n, want):
    tz = "Europe/Berlin"
    got = add_working_days(local(tz, *start), n, tz)
    assert got == local(tz, *want)
    assert got.tzinfo is UTC


def test_add_working_days_keeps_local_time_across_dst():
    # Berlin falls back on Sun Oct 25 2026: Friday 15:00 CEST -> Wednesday 15:00 CET, 1 hour more than 5 days.
    tz = "Europe/Berlin"
    start = local(tz, 2026, 10, 23, 15, 0)
    got = add_working_days(start, 3, tz)
    assert got.astimezone(ZoneInfo(tz)).replace(tzinfo=None) == datetime(2026, 10, 28, 15, 0)
    assert got - start == timedelta(days=5, hours=1)
    # Los Angeles springs forward on Sun Mar 8 2026.
    tz = "America/Los_Angeles"
    start = local(tz, 2026, 3, 6, 9, 0)
    got = add_working_days(start, 1, tz)
    assert got.astimezone(ZoneInfo(tz)).replace(tzinfo=None) == datetime(2026, 3, 9, 9, 0)
    assert got - start == timedelta(days=3, hours=-1)


def test_add_working_days_local_time_in_a_gap_moves_on():
    # Cairo springs forward on Friday Apr 26 2024 at 00:00: Friday 00:30 does not exist, 01:30 EEST follows.
    tz = "Africa/Cairo"
    got = add_working_days(local(tz, 2024, 4, 25, 0, 30), 1, tz)
    assert got == utc(2024, 4, 25, 22, 30)
    assert got.astimezone(ZoneInfo(tz)).replace(tzinfo=None) == datetime(2024, 4, 26, 1, 30)


def test_add_working_days_counts_in_the_zone():
    tz = "America/Los_Angeles"
    # Fri Nov 27 2026 20:00 PST is already Saturday in UTC; counting is on the local calendar.
    start = local(tz, 2026, 11, 27, 20, 0)
    got = add_working_days(start, 1, tz)
    assert got == local(tz, 2026, 11, 30, 20, 0)


def test_add_working_days_refuses_negative():
    with pytest.raises(ValueError):
        add_working_days(utc(2026, 11, 16), -1, "UTC")


def test_working_days_after_is_a_date_count():
    assert working_days_after(date(2026, 11, 20), 3) == date(2026, 11, 25)  # Fri -> Wed
    assert working_days_after(date(2026, 11, 22), 1) == date(2026, 11, 23)  # Sun -> Mon
    assert working_days_after(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Fri -> Mon
    assert working_days_after(date(2026, 11, 18), 0) == date(2026, 11, 18)
    with pytest.raises(ValueError):
        working_days_after(date(2026, 11, 18), -1)


# --------------------------------------------------------------- digest_due


@pytest.mark.parametrize(("now", "tz", "want"), [
    (local("Europe/Berlin", 2026, 11, 16, 8, 59), "Europe/Berlin", None),
    (local("Europe/Berlin", 2026, 11, 16, 9, 0), "Europe/Berlin", date(2026, 11, 16)),
    (local("Europe/Berlin", 2026, 11, 16, 11, 0), "Europe/Berlin", date(2026, 11, 16)),  # catch-up
    (local("Europe/Berlin", 2026, 11, 16, 23, 59), "Europe/Berlin", date(2026, 11, 16)),
    (local("Europe/Berlin", 2026, 11, 17, 0, 0), "Europe/Berlin", None),  # never yesterday's
    (local("Europe/Berlin", 2026, 11, 21, 10, 0), "Europe/Berlin", None),  # Saturday
    (local("Asia/Kolkata", 2026, 11, 16, 9, 0), "Asia/Kolkata", date(2026, 11, 16)),
    (local("Asia/Kolkata", 2026, 11, 16, 8, 59), "Asia/Kolkata", None),
    (local("Pacific/Chatham", 2026, 11, 16, 9, 0), "Pacific/Chatham", date(2026, 11, 16)),
    (local("Pacific/Chatham", 2026, 11, 16, 8, 59), "Pacific/Chatham", None),
])
def test_digest_due(now, tz, want):
    assert digest_due(now.astimezone(UTC), tz) == want


def test_digest_due_options():
    saturday = local("UTC", 2026, 11, 21, 7, 0)
    assert digest_due(saturday, "UTC", hour=7, weekends=True) == date(2026, 11, 21)
    assert digest_due(saturday, "UTC", hour=8, weekends=True) is None
    assert digest_due(saturday, "UTC", hour=7) is None
    monday = local("UTC", 2026, 11, 23, 7, 0)
    assert digest_due(monday, "UTC", hour=0) == date(2026, 11, 23)


def _new_due_dates(tz: str, start: datetime, days: int, hour: int, weekends: bool = False):
    """Step `now` every 5 minutes, as a sweeping scheduler would; yield (date, first instant) for each new date."""
    last = None
    now = start
    while now < start + timedelta(days=days):
        due = digest_due(now, tz, hour=hour, weekends=weekends)
        if due is not None and due != last:
            assert last is None or due > last, "an old date came back"
            yield due, now
            last = due
        now += timedelta(minutes=5)


def _working_dates(tz: str, start: datetime, days: int, weekends: bool) -> list[date]:
    first = local_day(start, tz)
    last = local_day(start + timedelta(days=days), tz)
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in span if weekends or d.weekday() < 5]


@pytest.mark.parametrize(("tz", "week_start"), [
    ("America/Los_Angeles", utc(2026, 3, 5)),  # spring forward Sun Mar 8
    ("America/Los_Angeles", utc(2026, 10, 29)),  # fall back Sun Nov 1
    ("Europe/Berlin", utc(2026, 3, 26)),  # spring forward Sun Mar 29
    ("Europe/Berlin", utc(2026, 10, 22)),  # fall back Sun Oct 25
])
@pytest.mark.parametrize("weekends", [False, True])
def test_one_digest_per_local_working_day_across_dst(tz, week_start, weekends):
    seen = list(_new_due_dates(tz, week_start, 8, hour=9, weekends=weekends))
    dates = [d for d, _ in seen]
    # Each local working date is new exactly once; the first and last dates may be cut by the window.
    inner = _working_dates(tz, week_start, 8, weekends)[1:-1]
    assert set(inner) <= set(dates)
    assert len(dates) == len(set(dates))
    assert all(weekends or d.weekday() < 5 for d in dates)
    for d, first in seen:
        if d in inner:
            assert first.astimezone(ZoneInfo(tz)).time() == time(9, 0)
    if weekends:  # the DST Sunday itself gets its digest too, at 09:00 local
        assert any(d.weekday() == 6 for d in dates)


_ZONES = ["America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe",
          "America/Sao_Paulo", "Asia/Kathmandu", "America/St_Johns", "UTC"]


def _exists(tz: str, d: date, hour: int) -> bool:
    wall = datetime.combine(d, time(hour))
    back = wall.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    return back == wall


@settings(max_examples=40, deadline=None)
@given(tz=st.sampled_from(_ZONES),
       start=st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2030, 12, 31)),
       hour=st.integers(0, 23), weekends=st.booleans())
def test_digest_due_property(tz, start, hour, weekends):
    start = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0, tzinfo=UTC)
    seen = list(_new_due_dates(tz, start, 8, hour=hour, weekends=weekends))
    dates = [d for d, _ in seen]
    inner = _working_dates(tz, start, 8, weekends)[1:-1]
    assert set(inner) <= set(dates) and len(dates) == len(set(dates))
    for d, first in seen:
        if d in inner:
            got = first.astimezone(ZoneInfo(tz))
            assert got.date() == d
            if _exists(tz, d, hour):
                assert got.time() == time(hour, 0)
            else:  # hour:00 skipped by a spring-forward: due at the first moment after the gap
                assert got.hour > hour


def test_pure():
    tree = ast.parse(Path(schedule.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in names if m.split(".")[0] in {"slack_sdk", "slack_bolt", "sqlalchemy"}}
