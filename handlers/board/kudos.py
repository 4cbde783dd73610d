"""Live kudos: one line per opted-in channel for its reps' decisions since the last one.

Batching by sweep is the rate limit: a burst of closes is one message. Each line is a delivery ("kudos",
channel, the start of its batch) through handlers/delivery.py, like every scheduled post.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack_client import poster
from bot.workspaces import client_for
from handlers.board.channel import channel_members
from handlers.board.post import BoardReport
from handlers.board.render import kudos_blocks, kudos_line
from handlers.delivery import SENT, UNKNOWN, Message, deliver, exclusive, metadata_for, reconcile
from handlers.domain.board import Closed
from handlers.domain.model import ChannelSettings

log = logging.getLogger(__name__)

KUDOS = "kudos"  # delivery kind
GONE = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}


def sweep_kudos(services: Any, client: Any) -> BoardReport:
    """One line per opted-in channel for its reps' decisions since the last kudos (scheduler, every
    2 minutes)."""
    report, store = BoardReport(), services.store
    with exclusive(store, "kudos") as mine:
        if not mine:
            report.notes.append("another sweep is running")
            return report
        reconcile(services, poster(client), KUDOS)
        with store.tx() as tx:  # every workspace's channels: each one's team scopes what follows
            live = [c for c in tx.channels() if c.live and c.board_on]
        for ch in live:
            theirs = client_for(services, ch.team_id, client)  # the channel's workspace's token
            if theirs is None:
                continue  # hardno is not installed there (any more)
            try:
                _kudos_for(services, theirs, ch, report)
            except Exception as e:
                log.exception("kudos for %s failed", ch.id)
                report.failed.append((ch.id, f"{type(e).__name__}: {e}"))
    return report


def _kudos_for(services: Any, client: Any, ch: ChannelSettings, report: BoardReport) -> None:
    store, now = services.store, services.clock.now()
    if ch.last_kudos_at is None:
        return _advance(store, ch, now)
    since = ch.last_kudos_at
    with store.tx(ch.team_id) as tx:
        closes = tx.closed_between(since, now)
    if not closes:
        return None
    try:
        members = set(channel_members(client, ch.id))
    except SlackApiError as e:
        if e.response.get("error") in GONE:  # the bot was removed: stop looking every two minutes
            _turn_off_live(store, ch)
        raise
    with store.tx(ch.team_id) as tx:
        reps = {r.user_id: r for r in tx.reps_among({d.owner_id for d in closes} & members)}
    shown = [Closed.from_deal(d) for d in closes if d.owner_id in reps and not reps[d.owner_id].board_hidden]
    line = kudos_line(shown, {u: r.name for u, r in reps.items()}, ch.details)
    if not line:
        return _advance(store, ch, now)
    period = since.isoformat()
    message = Message(ch.id, line, kudos_blocks(line), metadata_for(KUDOS, ch.id, period))
    outcome = deliver(services, client, KUDOS, ch.id, period, lambda: message, team=ch.team_id)
    if outcome is None:
        return None
    if outcome.state in (SENT, UNKNOWN):  # an unsure line may be in the channel: never cheer these twice
        _advance(store, ch, now)
    if outcome.state == SENT:
        report.posted.append(ch.id)
    else:
        report.failed.append((ch.id, outcome.code or outcome.error or outcome.state))
    if outcome.code in GONE:
        _turn_off_live(store, ch)


def _turn_off_live(store, ch: ChannelSettings) -> None:
    log.warning("live kudos turned off for %s: the bot is no longer in it", ch.id)
    with store.tx(ch.team_id) as tx:
        current = tx.channel(ch.id)
        if current is not None:
            tx.save_channel(current.replace(live=False))


def _advance(store, ch: ChannelSettings, to: datetime) -> None:
    with store.tx(ch.team_id) as tx:
        current = tx.channel(ch.id)
        if current is not None:
            tx.save_channel(current.replace(last_kudos_at=to))
