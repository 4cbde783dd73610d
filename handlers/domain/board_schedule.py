"""When the weekly board is posted: a channel's weekly time (``Schedule``), whether a board is due, and the
seven days it covers, as plain data (the sweep that posts it is handlers/board/post.py's).

Decisions made here (the callers rely on them):

* The scheduled board (``due_board``) covers the seven local days before the day it
  is posted, midnight to midnight: on a Monday that is the calendar week that just
  ended. It is due from the scheduled local time for ``GRACE`` (a day); after that
  the week is skipped rather than posted stale.
* ``may_be_due`` needs no zone: it says whether the board could be due in *some* zone,
  so a sweep skips most channels without asking Slack for theirs.
* An unknown zone raises (ZoneInfoNotFoundError), as in handlers.domain.board.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.domain.board import MONTHS, Period, Span, local_time, period_label, utc_time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_WORDS = {**{d: d for d in DAYS}, "monday": "mon", "tues": "tue", "tuesday": "tue", "weds": "wed",
              "wednesday": "wed", "thur": "thu", "thurs": "thu", "thursday": "thu", "friday": "fri",
              "saturday": "sat", "sunday": "sun"}
_DAY_PLURAL = dict(zip(DAYS, ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays",
                              "Sundays"), strict=True))
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm)?$")
GRACE = timedelta(days=1)  # a board more than a day late is skipped, not posted stale
# Every UTC offset in use lies within these (Etc/GMT+12 .. Pacific/Kiritimati), with an hour to spare
# for a scheduled time that falls in a DST gap.
_MIN_OFFSET, _MAX_OFFSET = timedelta(hours=-13), timedelta(hours=15)


@dataclass(frozen=True)
class Schedule:
    """A weekly post time on local wall clocks: ("mon", 9, 0) is Mondays at 09:00."""

    day: str
    hour: int
    minute: int

    def __post_init__(self) -> None:
        if self.day not in DAYS or not (0 <= self.hour < 24 and 0 <= self.minute < 60):
            raise ValueError(f"not a weekly time: {self.day} {self.hour}:{self.minute}")

    @property
    def time(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    def describe(self, tz: str) -> str:
        return f"{_DAY_PLURAL[self.day]} at {self.time} ({tz})"

    @classmethod
    def parse(cls, day: str, time: str) -> Schedule | None:
        """``mon 09:00``, ``monday 9am``, ``fri 4:30pm``, ``Fri 16:30``; None if it isn't one."""
        d = _DAY_WORDS.get(day.strip().casefold())
        m = _TIME.match(time.strip().casefold())
        if d is None or m is None:
            return None
        hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
        if half:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if half == "pm" else 0)
        elif m.group(2) is None:
            return None  # a bare "9" is too vague: 9am or 9pm?
        if hour > 23 or minute > 59:
            return None
        return cls(d, hour, minute)


@dataclass(frozen=True)
class Due:
    at: datetime  # when it was scheduled (aware UTC)
    span: Span  # the seven local days before the post day
    previous: Span  # the seven before those, for the change line


def due_board(now: datetime, tz: str, schedule: Schedule, grace: timedelta = GRACE) -> Due | None:
    """The weekly board due at ``now``: the latest scheduled time at or before ``now`` in
    ``tz``, if it passed less than ``grace`` ago.

    It covers the seven local days before the post day, midnight to midnight: posted on
    a Monday, that is the calendar week that just ended (Monday to Sunday); a channel
    posting on Fridays gets Friday to Thursday. Consecutive boards tile time.
    """
    zone = ZoneInfo(tz)
    local = local_time(now, zone)
    day = local.date() - timedelta(days=(local.weekday() - DAYS.index(schedule.day)) % 7)
    at = utc_time(datetime.combine(day, _clock_time(schedule)), zone)
    if at > now:
        day -= timedelta(days=7)
        at = utc_time(datetime.combine(day, _clock_time(schedule)), zone)
    if now - at >= grace:
        return None
    end = datetime.combine(day, datetime.min.time())
    start, before = end - timedelta(days=7), end - timedelta(days=14)
    return Due(at, Span(utc_time(start, zone), utc_time(end, zone), _week_label(start)),
               Span(utc_time(before, zone), utc_time(start, zone), _week_label(before)))


def _week_label(start: datetime) -> str:
    """The label of seven days from ``start``: "week of Nov 16" for a calendar week, "week
    ending Thu Nov 19" for one that starts on another day (a channel posting on Fridays)."""
    if start.weekday() == 0:
        return period_label(start, Period.WEEK)
    last = start + timedelta(days=6)
    return f"week ending {DAYS[last.weekday()].title()} {MONTHS[last.month - 1][:3]} {last.day}"


def _clock_time(schedule: Schedule) -> time:
    return datetime.min.time().replace(hour=schedule.hour, minute=schedule.minute)


def may_be_due(now: datetime, schedule: Schedule, grace: timedelta = GRACE) -> bool:
    """Whether ``due_board`` could return a board at ``now`` in *some* time zone.

    Cheap (no zone needed): lets a sweep skip a channel whose zone would cost a Slack
    call to work out, for most of the week.
    """
    if now.tzinfo is None:
        raise ValueError("board times must be timezone-aware")
    wall = now.astimezone(UTC).replace(tzinfo=None)
    for back in range(-2, 10):
        day = wall.date() - timedelta(days=back)
        if day.weekday() != DAYS.index(schedule.day):
            continue
        at = datetime.combine(day, _clock_time(schedule))
        if at - _MAX_OFFSET <= wall < at - _MIN_OFFSET + grace:
            return True
    return False
