"""`/deal export`: the rep's deals as a CSV file in their DM (Slack's external upload flow)."""

from __future__ import annotations

from typing import Any

from handlers.commands import Ask, Reply, Verbs
from handlers.domain.export import deals_csv
from handlers.domain.grammar import Command
from handlers.domain.schedule import local_day


def register(app: Any, verbs: Verbs) -> None:
    verbs["export"] = export


def export(ask: Ask, cmd: Command) -> Reply:
    deals = ask.log.all_deals(ask.rep.user_id)
    if not deals:
        return Reply("You have no deals to export yet. Add one: `/deal add Acme $12k`.")
    day = local_day(ask.clock.now(), ask.rep.tz).isoformat()
    channel = ask.reps.dm_channel(ask.rep)
    # files_upload_v2 runs files.getUploadURLExternal, the upload, then files.completeUploadExternal.
    ask.client.files_upload_v2(channel=channel, content=deals_csv(deals, ask.rep.tz),
                               filename=f"hardno-deals-{day}.csv", title=f"Your deals ({day})",
                               initial_comment=f"Your {len(deals)} deals, dates in {ask.rep.tz}.")
    return Reply(f"Sent {len(deals)} deals as a CSV file to our DM.")
