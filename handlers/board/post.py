"""The boards that are posted: each channel's weekly board (the sweep) and `hardno leaderboard [--post]`.

- Exactly once: a delivery row ("board", channel, the week's start in UTC) goes through the one delivery
  helper (handlers/delivery.py): claimed with a lease before posting, posted through the 429-only client,
  settled with the same meanings as a digest. A refused post is retried on a later sweep (while the board
  is still due); a 5xx, timeout or lost connection may have posted, so it is looked for, never resent.
- At most one scheduled board per channel in six days, so moving the day never posts two boards in a row.
- `hardno leaderboard --post` is not a scheduled delivery (it doesn't stop the scheduled board), but each
  request is a delivery ("board-now") too: after an unsure one, the next request looks for its post in
  the channel first, and posts nothing more when it is there.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TextIO

from slack_sdk.errors import SlackApiError

from bot.slack_client import poster
from handlers import blocks as bk
from handlers.board.channel import bot_channels, channel_members
from handlers.board.command import PERIOD_WORDS
from handlers.board.render import TURN_OFF, _post_footer, board_blocks, render_lines
from handlers.board.standings import reps_zone, schedule_of, standings
from handlers.delivery import (
    EMPTY,
    SENT,
    UNKNOWN,
    Message,
    Outcome,
    deliver,
    exclusive,
    fan_out,
    find_post,
    metadata_for,
    reconcile,
)
from handlers.domain.board import Period, current_span, previous_span
from handlers.domain.board_schedule import due_board, may_be_due
from handlers.domain.model import ChannelSettings
from handlers.workspace import team_of_token

log = logging.getLogger(__name__)

BOARD, BOARD_NOW = "board", "board-now"  # delivery kinds: the scheduled board, one posted on request
MIN_GAP = timedelta(days=6)  # at most one scheduled board per channel in this long


@dataclass
class BoardReport:
    posted: list[str] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (channel, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (channel, error)
    notes: list[str] = field(default_factory=list)

    def add(self, other: BoardReport) -> None:
        for name in ("posted", "printed", "skipped", "failed", "notes"):
            getattr(self, name).extend(getattr(other, name))

    def summary(self) -> str:
        bits = []
        if self.printed:
            bits.append(f"{len(self.printed)} printed")
        bits.append(f"{len(self.posted)} posted")
        if self.skipped:
            bits.append(f"{len(self.skipped)} skipped")
        if self.failed:
            bits.append(f"{len(self.failed)} failed ("
                        + "; ".join(f"{c}: {e}" for c, e in self.failed[:5]) + ")")
        return "leaderboard: " + ", ".join(bits) + "".join(f"; {n}" for n in self.notes)


def sweep_boards(services: Any, client: Any, team: str | None = None) -> BoardReport:
    """Post every channel's weekly board that is due (scheduler, every 5 minutes), in the channels the
    client's token is in: those of the workspace `team` (default: the token's own, from auth.test)."""
    report = BoardReport()
    team = team if team is not None else team_of_token(client)
    with exclusive(services.store, "boards") as mine:
        if not mine:
            report.notes.append("another sweep is running")
            return report
        post_client = poster(client)
        reconcile(services, post_client, BOARD, team)

        def one(info: dict) -> BoardReport:
            part = BoardReport()
            try:
                _sweep_channel(services, client, post_client, team, info["id"], part)
            except Exception as e:  # one channel's trouble must not stop the others
                log.exception("leaderboard for %s failed", info["id"])
                part.failed.append((info["id"], f"{type(e).__name__}: {e}"))
            return part

        for part in fan_out(one, bot_channels(client)):  # concurrently; the report in the channels' order
            report.add(part)
    return report


def _sweep_channel(services: Any, client: Any, post_client: Any, team: str, channel: str,
                   report: BoardReport) -> None:
    store, now = services.store, services.clock.now()
    with store.tx(team) as tx:
        ch = tx.channel(channel) or ChannelSettings(channel, team_id=team)
        last = tx.last_board_sent(channel)
    if not ch.board_on:
        return report.skipped.append((channel, "board off"))
    if last is not None and now - last < MIN_GAP:
        return None
    schedule = schedule_of(ch, services.settings)
    members, zone = None, ch.tz
    if zone is None:
        if not may_be_due(now, schedule):
            return None  # not due in any zone: no need to ask Slack who is here
        members = channel_members(client, channel)
        zone = reps_zone(store, team, members) or "UTC"
    due = due_board(now, zone, schedule)
    if due is None or (ch.joined_at is not None and due.at < ch.joined_at):
        return None
    period = due.span.start.isoformat()

    def compose() -> Message | Outcome:
        here = members if members is not None else channel_members(client, channel)
        s = standings(store, team, here, due.span, due.previous, details=ch.details)
        if s.empty:
            report.skipped.append((channel, "no reps"))
            return Outcome(EMPTY, channel, error="nobody here has logged a deal: nothing posted")
        text, blocks = board_blocks(s, ch.details, _post_footer(schedule, zone))
        return Message(channel, text, bk.as_dicts(blocks), metadata_for(BOARD, channel, period))

    _report(report, channel, deliver(services, post_client, BOARD, channel, period, compose, team=team))


def _report(report: BoardReport, channel: str, outcome: Outcome | None) -> None:
    if outcome is None or outcome.state == EMPTY:  # someone else has it, or it was empty (said by compose)
        return
    if outcome.state == SENT:
        report.posted.append(channel)
    else:
        report.failed.append((channel, outcome.error or outcome.state))


# -- hardno leaderboard -------------------------------------------------------------------------------------

def run_boards(services: Any, client: Any, *, period: str = "week", post: bool = False,
               out: TextIO = sys.stdout, team: str | None = None) -> BoardReport:
    """Each channel's board for the current period so far: printed (plain text), or posted with `post`.
    Posting on request is not a scheduled delivery: it doesn't stop the scheduled board. The channels of
    the workspace `team` (default: the token's own)."""
    report, chosen = BoardReport(), Period(period)
    store, now = services.store, services.clock.now()
    team = team if team is not None else team_of_token(client)
    try:
        channels = bot_channels(client)
    except SlackApiError as e:
        report.notes.append(f"Slack refused users.conversations: {e.response.get('error')}")
        return report
    if not channels:
        report.notes.append("the bot is in no channels yet: invite @hardno to a team channel")
    for info in channels:
        channel = info["id"]
        with store.tx(team) as tx:
            ch = tx.channel(channel) or ChannelSettings(channel, team_id=team)
        if post and not ch.board_on:
            report.skipped.append((channel, "board off"))
            continue
        try:
            members = channel_members(client, channel)
            zone = ch.tz or reps_zone(store, team, members) or "UTC"
            span = current_span(chosen, now, zone)
            s = standings(store, team, members, span, previous_span(span, chosen, zone), details=ch.details)
            if not post:
                print(f"#{info['name']} ({channel}) · {zone}" + ("" if ch.board_on else " · board off"), file=out)
                print("\n".join(render_lines(s.board, s.names, ch.details, plain=True)) + "\n", file=out)
                report.printed.append(channel)
            elif s.empty:
                report.skipped.append((channel, "no reps"))
            else:
                footer = f"The {PERIOD_WORDS[chosen]} so far ({zone}), posted on request · {TURN_OFF} stops boards here"
                text, blocks = board_blocks(s, ch.details, footer)
                _post_on_request(services, client, team, channel,
                                 f"{chosen.value[0]}{span.start:%Y%m%d%H%M}-",
                                 text, bk.as_dicts(blocks), report)
        except SlackApiError as e:
            report.failed.append((channel, str(e.response.get("error"))))
    return report


def _post_on_request(services: Any, client: Any, team: str, channel: str, prefix: str, text: str,
                     blocks: list[dict], report: BoardReport) -> None:
    """Post one requested board, unless the last request's post was unsure and is in the channel after all."""
    store = services.store
    with store.tx(team) as tx:
        earlier = tx.delivery_periods(BOARD_NOW, channel, prefix)
    for key, state in earlier:
        if state != UNKNOWN:
            continue
        ts = find_post(poster(client), channel, metadata_for(BOARD_NOW, channel, key))
        with store.tx(team) as tx:
            tx.found_delivery(BOARD_NOW, channel, key, services.clock.now(), channel=channel, ts=ts)
        if ts:
            report.skipped.append((channel, "posted already: the last request's board is in the channel"))
            return
    key = f"{prefix}{len(earlier) + 1}"
    message = Message(channel, text, blocks, metadata_for(BOARD_NOW, channel, key))
    _report(report, channel, deliver(services, client, BOARD_NOW, channel, key, lambda: message, team=team))
