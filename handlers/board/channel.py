"""The channels the bot is in: who is in them (Slack reads), and the bot joining one."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock

from handlers import blocks as bk
from handlers.board.render import TURN_OFF
from handlers.board.standings import reps_zone, schedule_of
from handlers.domain.board_schedule import Schedule
from handlers.domain.model import ChannelSettings

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("member_joined_channel")(on_member_joined)


def channel_members(client, channel_id: str) -> list[str]:
    """Everyone in the channel, every page of conversations.members."""
    members: list[str] = []
    cursor = None
    while True:
        page = client.conversations_members(channel=channel_id, limit=1000, cursor=cursor)
        members += page.get("members") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return members


def bot_channels(client) -> list[dict]:
    """The channels the bot is a member of (users.conversations for the bot, every page)."""
    found, cursor = [], None
    while True:
        page = client.users_conversations(types="public_channel,private_channel", exclude_archived=True,
                                          limit=200, cursor=cursor)
        found += [{"id": c["id"], "name": c.get("name") or c["id"]} for c in page.get("channels") or []]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return found


def on_member_joined(event, body, context, client, store, clock, reps, settings):
    bot = context.get("bot_user_id") or next(
        (a.get("user_id") for a in body.get("authorizations") or [] if a.get("is_bot")), None)
    if not bot or event.get("user") != bot:
        return  # a person joined: their deals show up on the next board by themselves
    channel, now, team = event["channel"], clock.now(), context.get("team_id") or event.get("team") or ""
    with store.tx(team) as tx:
        ch = tx.channel(channel) or ChannelSettings(channel, team_id=team)
    if ch.tz is None:
        ch = ch.replace(tz=_zone_at_join(client, store, reps, team, channel, event.get("inviter")))
    ch = ch.replace(joined_at=now)
    with store.tx(team) as tx:
        tx.save_channel(ch)
    text = intro(ch, schedule_of(ch, settings))
    try:
        client.chat_postMessage(channel=channel, text=text, blocks=bk.as_dicts([SectionBlock(text=bk.md(text))]),
                                unfurl_links=False, unfurl_media=False)
    except SlackApiError as e:  # nobody to apologise to: the intro is a courtesy, the board still comes
        log.warning("intro in %s not posted: %s", channel, e.response.get("error"))


def _zone_at_join(client, store, reps, team: str, channel: str, inviter: str | None) -> str:
    try:
        zone = reps_zone(store, team, channel_members(client, channel))
    except SlackApiError as e:
        log.warning("conversations.members failed for %s: %s", channel, e.response.get("error"))
        zone = None
    if zone is None and inviter:
        zone = reps.get(inviter, team).tz
    return zone or "UTC"


def intro(ch: ChannelSettings, schedule: Schedule) -> str:
    if not ch.board_on:
        return ("👋 Hi again! The weekly leaderboard is off in this channel.\n"
                "`/deal settings board on` turns it back on; `/deal settings board` shows the options.")
    return (f"👋 Hi! {schedule.describe(ch.tz or 'UTC')}, I'll post a leaderboard of the deals this channel's "
            f"reps closed out the week before: won, hard no or dropped, every decision counts. "
            f"{'With company names (details are on).' if ch.details else 'Counts only, no company names.'}\n"
            f"Not for this channel? {TURN_OFF} turns it off; `/deal settings board` shows the other options.")
