"""Who is due for a digest now: the schedule in each rep's Slack zone, and keeping that zone fresh.

A rep's digest is due from their digest hour (default HARDNO_DIGEST_HOUR) until local midnight on their
working days. Catch-up: a bot that was down at 9:00 sends the day's digest when it is back, the same
local day only. Zones are asked again (users.info) when a day old, at most `REFRESH_BUDGET` a run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from handlers.domain.model import Rep
from handlers.domain.schedule import digest_due, local_day
from handlers.reps import REFRESH

log = logging.getLogger(__name__)

DIGEST = "digest"  # delivery kind
REFRESH_BUDGET = 100  # users.info calls a run may make to refresh stale zones


@dataclass(frozen=True)
class Due:
    rep: Rep
    day: date  # the rep's local date whose digest this is


def due_day(rep: Rep, now: datetime, default_hour: int, ignore_schedule: bool = False) -> date | None:
    """The local date whose digest is due for `rep` at `now`, or None (not yet, not a working day)."""
    if ignore_schedule:
        return local_day(now, rep.tz)
    hour = rep.digest_hour if rep.digest_hour is not None else default_hour
    return digest_due(now, rep.tz, hour, rep.digest_weekends)


def _has_token(client) -> bool:
    return bool(getattr(client, "token", None))


def _stale(rep: Rep, now: datetime) -> bool:
    return rep.tz_checked_at is None or now - rep.tz_checked_at >= REFRESH


def _with_fresh_zone(services, d: Due, now: datetime, default_hour: int, ignore_schedule: bool,
                     budget: list[int], report: Any) -> Due | None:
    """`d` with the rep's zone asked again when it is a day old (their digest may then not be due yet)."""
    if budget[0] <= 0 or not _stale(d.rep, now):
        return d
    budget[0] -= 1
    try:
        rep = services.reps.get(d.rep.user_id, d.rep.team_id)
    except Exception as e:  # Slack unreachable: the cached zone will do today
        log.warning("zone refresh for %s failed: %s", d.rep.user_id, e)
        return d
    day = due_day(rep, now, default_hour, ignore_schedule)
    if day is None:
        report.not_due += 1
        return None
    return Due(rep, day)


def _refresh_some(services, reps: Sequence[Rep], now: datetime, budget: list[int]) -> None:
    """Spend what is left of the budget on the stalest zones of reps not due now, so a rep who moved is
    known to have moved before their next morning (the due ones were refreshed before planning)."""
    stale = sorted((r for r in reps if r.digest_on and _stale(r, now)),
                   key=lambda r: r.tz_checked_at or datetime.min.replace(tzinfo=UTC))
    for rep in stale[:max(budget[0], 0)]:
        try:
            services.reps.get(rep.user_id, rep.team_id)
        except Exception as e:
            log.warning("zone refresh for %s failed: %s", rep.user_id, e)
            return
