"""`/deal board [week|month|quarter]`: the caller's private view of the channel it is run in."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from handlers.board.channel import channel_members
from handlers.board.render import board_blocks
from handlers.board.standings import standings
from handlers.commands import Ask, Reply
from handlers.domain.board import Period, current_span, previous_span
from handlers.domain.grammar import Command
from handlers.domain.model import ChannelSettings

PERIOD_WORDS = {Period.WEEK: "week", Period.MONTH: "month", Period.QUARTER: "quarter"}


def board_command(ask: Ask, cmd: Command) -> Reply:
    """The caller's view: this channel's reps, the period so far in the caller's own zone.
    In a DM (no channel to rank) it shows the caller's own numbers."""
    period = Period(cmd.option or "week")
    tz, me = ask.rep.tz, ask.rep.user_id
    span = current_span(period, ask.clock.now(), tz)
    previous = previous_span(span, period, tz)
    so_far = f"the {PERIOD_WORDS[period]} so far, in your time zone ({tz})"
    if _is_dm(ask.channel_id):
        mine = standings(ask.store, ask.rep.team_id, [me], span, previous, details=True, show=[me])
        text, blocks = board_blocks(mine, True, f"Only you can see this: your own decisions, {so_far}. "
                                                "Run `/deal board` in a team channel for the team's board.")
        return Reply(text, blocks)
    try:
        members = channel_members(ask.client, ask.channel_id)
    except SlackApiError:
        return Reply("I can't see who is in this channel. Invite me first (`/invite @hardno`), "
                     "then `/deal board` shows its leaderboard.")
    with ask.store.tx(ask.rep.team_id) as tx:
        ch = tx.channel(ask.channel_id) or ChannelSettings(ask.channel_id)
    s = standings(ask.store, ask.rep.team_id, members, span, previous, details=ch.details, show=[me])
    if s.reps == 0:
        return Reply("Nobody in this channel has logged a deal with me yet, so there's no board here. "
                     "Start with `/deal add Acme $12k`.")
    text, blocks = board_blocks(s, ch.details, f"Only you can see this: this channel's reps, {so_far}.")
    return Reply(text, blocks)


def _is_dm(channel_id: str) -> bool:
    return not channel_id or channel_id.startswith("D")
