"""`serve`'s CRM job: one HubSpot sync every HARDNO_CRM_SYNC_MINUTES, once across all instances.

Every instance's scheduler fires; the advisory lock (the sweeps' `exclusive`) lets one run at a time, and
the last run's time, kept in the database, makes the others skip until the interval has passed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.metrics import CRM_SYNC
from handlers.crm.hubspot import HubSpotSync, Report
from handlers.delivery import exclusive
from handlers.workspace import team_of_token

log = logging.getLogger("hardno.crm")
LOCK = "crm-sync"


def sync_hubspot(services, client=None) -> Report | None:
    settings = services.settings
    if settings.hubspot_access_token is None:
        return None
    every = timedelta(minutes=settings.hardno_crm_sync_minutes)
    now = services.clock.now()
    with exclusive(services.store, LOCK) as mine:
        if not mine:
            return None
        team = (team_of_token(client) if client is not None else "") or services.store.only_workspace()
        with services.store.tx(team) as tx:
            last = (tx.crm_state("hubspot:last_run") or {}).get("at")
            if last and now - datetime.fromisoformat(last) < every * 0.9:
                return None  # another instance synced within this interval
            tx.set_crm_state("hubspot:last_run", {"at": now.isoformat()})
        try:
            report = HubSpotSync(services.store, services.clock, settings.hubspot_access_token.get_secret_value(),
                                 settings.hubspot_api_url, team=team).run()
        except Exception:
            CRM_SYNC.labels("error").inc()
            raise
    CRM_SYNC.labels("failed" if report.failed else "ok").inc()
    log.info("crm sync: %s", report.summary())
    return report
