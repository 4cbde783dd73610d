"""The app leaving a workspace: `app_uninstalled`, and `tokens_revoked` of its bot token.

Its tokens are deleted at once (OAuth mode: from the installation store, every instance stops using them
on its next look-up). Its data stays HARDNO_UNINSTALL_GRACE_DAYS (0: deleted now), so an admin who
uninstalled by mistake can install again and find everything; the housekeeping job purges it after that
(bot/scheduler.py), unless an install came first (storage/installations.py's `on_saved` cancels it).
A revoked user token alone deletes just that user's install: the bot still works there.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

log = logging.getLogger(__name__)


def register(app: Any) -> None:
    app.event("app_uninstalled")(on_app_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


def on_app_uninstalled(context, store, clock, settings, installations) -> None:
    left(context.team_id, context.enterprise_id, store, clock, settings, installations)


def on_tokens_revoked(event, context, store, clock, settings, installations) -> None:
    tokens = event.get("tokens") or {}
    if tokens.get("bot"):  # the bot can't act there any more: the same as an uninstall
        left(context.team_id, context.enterprise_id, store, clock, settings, installations)
        return
    if installations is not None:
        for user_id in tokens.get("oauth") or []:
            installations.delete_installation(enterprise_id=context.enterprise_id, team_id=context.team_id,
                                              user_id=user_id)


def left(team_id: str | None, enterprise_id: str | None, store, clock, settings, installations) -> None:
    """The app is gone from `team_id`: its tokens now, its data after the grace days."""
    if installations is not None:
        installations.delete_all(enterprise_id=enterprise_id, team_id=team_id)
    if not team_id:
        return
    grace = timedelta(days=settings.hardno_uninstall_grace_days)
    with store.tx(team_id) as tx:
        since = tx.workspace_uninstalled(team_id, clock.now())
        if grace:
            log.info("hardno was uninstalled from %s: its tokens are deleted; its data goes after %s unless it "
                     "installs again", team_id, (since + grace).date().isoformat())
            return
        gone = tx.purge_team(team_id)
    log.info("hardno was uninstalled from %s: everything stored for it is deleted (%s)", team_id,
             ", ".join(f"{n} {what}" for what, n in gone.items()))


def purge_uninstalled(store, clock, settings) -> list[str]:
    """Housekeeping: delete the data of every workspace whose grace after an uninstall is over; which."""
    cutoff = clock.now() - timedelta(days=settings.hardno_uninstall_grace_days)
    with store.tx() as tx:  # every workspace's install state: each purge below is bound to its own
        due = tx.workspaces_uninstalled_before(cutoff)
    purged = []
    for team_id in due:
        with store.tx(team_id) as tx:
            since = tx.uninstalled_since(team_id)  # read again: it may have installed meanwhile
            if since is None or since > cutoff:
                continue
            gone = tx.purge_team(team_id)
        purged.append(team_id)
        log.info("deleted everything stored for %s, uninstalled %s (%s)", team_id, since.date().isoformat(),
                 ", ".join(f"{n} {what}" for what, n in gone.items()))
    return purged
