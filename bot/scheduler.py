"""One APScheduler per process. Jobs only decide *when to look*; the database decides who sends
(delivery rows claimed before sending), so several `serve` instances never double-post."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

log = logging.getLogger("hardno")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Any, Any], Any]  # run(services, client)
    every: timedelta


def jobs() -> list[Job]:
    from handlers.board import sweep_boards, sweep_kudos
    from handlers.digest import sweep_digests
    return [
        # Due-ness is computed per rep from their zone, so one frequent sweep serves everyone.
        Job("digests", sweep_digests, timedelta(minutes=5)),
        Job("leaderboards", sweep_boards, timedelta(minutes=5)),
        # Live kudos: one line per channel for the closes since the last sweep (the batching is the rate limit).
        Job("kudos", sweep_kudos, timedelta(minutes=2)),
        Job("housekeeping", housekeeping, timedelta(hours=6)),
        *crm_jobs(),
    ]


def crm_jobs() -> list[Job]:
    from bot.config import load_settings
    settings = load_settings()
    if settings.hubspot_access_token is None:
        return []
    from handlers.crm.schedule import sync_hubspot
    return [Job("crm_sync", sync_hubspot, timedelta(minutes=settings.hardno_crm_sync_minutes))]


def housekeeping(services, client) -> None:
    """Forget event ids older than Slack's retry window (a week is plenty)."""
    with services.store.tx() as tx:
        tx.forget_events_before(services.clock.now() - timedelta(days=7))
        tx.forget_stale_proposals(services.clock.now())


def _guarded(job: Job, services, client):
    def run():
        try:
            job.run(services, client)
        except Exception:  # a failing sweep must not kill the scheduler; the next one retries
            log.exception("scheduled job %s failed", job.name)
    return run


def start_scheduler(services, client) -> BackgroundScheduler:
    # coalesce + a generous misfire grace: APScheduler 3's default grace of 1 s silently
    # skips a run after a short stall; a late sweep is still a useful sweep.
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    for job in jobs():
        scheduler.add_job(_guarded(job, services, client), IntervalTrigger(seconds=job.every.total_seconds()),
                          id=job.name, name=job.name, next_run_time=datetime.now(UTC) + timedelta(seconds=5))  # wall time: APScheduler's own
    scheduler.start()
    return scheduler
