"""Calendar time in the rep's zone: local days, working days, and when a digest is due.

Decisions (callers rely on them):
- Every instant is aware UTC (a naive one is read as UTC). Local dates and times
  come from zoneinfo at each call, so DST and 30/45-minute offsets need no
  special cases; only the ZoneInfo objects are cached, never an offset.
- An unknown zone name reads as UTC, as in `when`: one bad profile must not stop
  a morning's digests.
- Working days are Monday to Friday minus `holidays` (local dates);
  `weekends=True` makes Saturday and Sunday working days too.
- A local wall time that does not exist (spring forward) moves on by the gap; one
  that happens twice (fall back) is the first of the two.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.domain.zones import zone

_SATURDAY = 5




def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def local_day(now: datetime, tz: str) -> date:
    """The date on the rep's calendar at the instant `now`."""
    return _aware(now).astimezone(zone(tz)).date()


def is_working_day(d: date, weekends: bool = False, holidays: Collection[date] = ()) -> bool:
    return (weekends or d.weekday() < _SATURDAY) and d not in holidays


def add_working_days(start: datetime, n: int, tz: str, holidays: Collection[date] = ()) -> datetime:
    """The same local wall time `n` working days (Mon-Fri) after `start`, as aware UTC.

    Counting starts the day after `start`'s local date, so a Friday (or a
    Saturday) plus 3 is the next Wednesday.
    """
    return add_working_days_in(start, n, zone(tz), holidays)


def add_working_days_in(start: datetime, n: int, zone: ZoneInfo, holidays: Collection[date] = ()) -> datetime:
    """`add_working_days` with the zone already built."""
    local = _aware(start).astimezone(zone).replace(tzinfo=None)
    day = working_days_after(local.date(), n, holidays)
    # Attach the zone to the naive wall time (fold=0) so zoneinfo applies that day's offset.
    return datetime.combine(day, local.time()).replace(tzinfo=zone, fold=0).astimezone(UTC)


def working_days_after(day: date, n: int, holidays: Collection[date] = ()) -> date:
    """The local date `n` working days (Mon-Fri, minus `holidays`) after `day`; counting starts the
    day after, so a Friday (or a Saturday) plus 3 is the next Wednesday."""
    if n < 0:
        raise ValueError("n must be 0 or more")
    while n:
        day += timedelta(days=1)
        if is_working_day(day, holidays=holidays):
            n -= 1
    return day


def digest_due(now: datetime, tz: str, hour: int = 9, weekends: bool = False,
               holidays: Collection[date] = ()) -> date | None:
    """The local date whose digest is due at `now`, or None.

    Due from `hour`:00 local until local midnight on a working day. A bot that was
    down at 9:00 still gets today's date when it returns; tomorrow it gets
    tomorrow's, never an old one. The caller sends once per returned date.
    """
    local = _aware(now).astimezone(zone(tz))
    today = local.date()
    if local.hour >= hour and is_working_day(today, weekends, holidays):
        return today
    return None
