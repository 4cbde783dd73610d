"""One APScheduler per process. Jobs only decide *when to look*; the database decides who sends
(delivery rows claimed before sending), so several `serve` instances never double-post."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("hardno")


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Any, Any], Any]  # run(services, client)
    every: timedelta
    # Run once per installed workspace with its client (OAuth mode; single-token mode: once). The others
    # run once and look up the client of each row's workspace themselves (`services.clients`).
    per_workspace: bool = False


def jobs(*, crm: bool = True) -> list[Job]:
    """Every job `serve` runs; `crm=False` leaves out the HubSpot sync (the sandbox has no stand-in CRM)."""
    from handlers.board import sweep_boards, sweep_kudos
    from handlers.digest import sweep_digests
    return [
        # Due-ness is computed per rep from their zone, so one frequent sweep serves everyone.
        Job("digests", sweep_digests, timedelta(minutes=5)),
        # The channels a board goes to are the ones the workspace's token is in (users.conversations).
        Job("leaderboards", sweep_boards, timedelta(minutes=5), per_workspace=True),
        # Live kudos: one line per channel for the closes since the last sweep (the batching is the rate limit).
        Job("kudos", sweep_kudos, timedelta(minutes=2)),
        Job("housekeeping", housekeeping, timedelta(hours=6)),
        *(crm_jobs() if crm else []),
    ]


def crm_jobs() -> list[Job]:
    from bot.config import load_settings
    settings = load_settings()
    if settings.hubspot_access_token is None:
        return []
    from handlers.crm.schedule import sync_hubspot
    return [Job("crm_sync", sync_hubspot, timedelta(minutes=settings.hardno_crm_sync_minutes))]


def housekeeping(services, client) -> None:
    """Forget event ids older than Slack's retry window (a week is plenty); delete the data of workspaces
    that uninstalled the app more than HARDNO_UNINSTALL_GRACE_DAYS ago (handlers/installs.py)."""
    from handlers.installs import purge_uninstalled
    with services.store.tx() as tx:
        tx.forget_events_before(services.clock.now() - timedelta(days=7))
        tx.forget_stale_proposals(services.clock.now())
    purge_uninstalled(services.store, services.clock, services.settings)


def run_job(job: Job, services, client) -> bool:
    """Run one job as the scheduler does; a failure is one line (the traceback at DEBUG), never raised:
    a failing sweep must not kill the scheduler, and the next run retries."""
    try:
        clients = getattr(services, "clients", None)
        if not job.per_workspace or clients is None or not clients.multi:
            job.run(services, client)
            return True
        ok = True
        for enterprise_id, team_id in clients.installed():
            theirs = clients.for_team(team_id, enterprise_id)
            if theirs is not None:  # uninstalled since the list was read
                ok = _run_for(job, services, theirs, team_id) and ok
        return ok
    except Exception as e:
        log.error("scheduled job %s failed: %s: %s (the next run retries)", job.name, type(e).__name__,
                  str(e).splitlines()[0] if str(e) else "")
        log.debug("scheduled job %s failed", job.name, exc_info=True)
        return False


def _run_for(job: Job, services, client, team_id: str | None) -> bool:
    """One workspace's run of a per-workspace job: its failure doesn't stop the other workspaces'."""
    try:
        job.run(services, client)
        return True
    except Exception as e:
        log.error("scheduled job %s failed for %s: %s: %s (the next run retries)", job.name, team_id,
                  type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        log.debug("scheduled job %s failed for %s", job.name, team_id, exc_info=True)
        return False


def _guarded(job: Job, services, client) -> Callable[[], None]:
    def run() -> None:
        run_job(job, services, client)
    return run


class RunChatterAtDebug(logging.Filter):
    """APScheduler logs every run ("Running job ...", "... executed successfully") at INFO, which is a
    pair of lines every two minutes: those become DEBUG. Its warnings and errors are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_run_chatter() -> None:
    executor_log = logging.getLogger("apscheduler.executors.default")
    if not any(isinstance(f, RunChatterAtDebug) for f in executor_log.filters):
        executor_log.addFilter(RunChatterAtDebug())


class RunWhenMoved:
    """With a FileClock (HARDNO_CLOCK_FILE), time moves only when the file is written: every job runs once
    after each move, one after another, instead of on wall-clock intervals (which would sweep at a time
    read before the move). A move during a run is picked up by the next one. The sandbox does the same."""

    def __init__(self, services, client, poll: float = 0.1):
        self.services, self.client, self.poll = services, client, poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hardno-clock-jobs", daemon=True)
        self.running = True

    def start(self) -> RunWhenMoved:
        self._thread.start()
        return self

    def _loop(self) -> None:
        seen = self.services.clock.now()
        while not self._stop.wait(self.poll):
            now = self.services.clock.now()
            if now == seen:
                continue
            seen = now
            log.info("clock moved to %s: running the scheduled jobs", now.isoformat())
            for job in jobs():
                if self._stop.is_set():
                    return
                run_job(job, self.services, self.client)
            log.info("scheduled jobs done for %s", now.isoformat())

    def shutdown(self, wait: bool = False) -> None:
        self.running = False
        self._stop.set()
        if wait:
            self._thread.join(timeout=30)


def start_scheduler(services, client) -> BackgroundScheduler | RunWhenMoved:
    from bot.clock import FileClock
    quiet_run_chatter()
    if isinstance(services.clock, FileClock):
        return RunWhenMoved(services, client).start()
    # coalesce + a generous misfire grace: APScheduler 3's default grace of 1 s silently
    # skips a run after a short stall; a late sweep is still a useful sweep.
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    for job in jobs():
        scheduler.add_job(_guarded(job, services, client), IntervalTrigger(seconds=job.every.total_seconds()),
                          id=job.name, name=job.name, next_run_time=datetime.now(UTC) + timedelta(seconds=5))  # wall time: APScheduler's own
    scheduler.start()
    return scheduler
