"""Team leaderboards of closed-out deals in the channels the bot is in, and live kudos.

Surfaces:
- `member_joined_channel` for the bot itself: remember the channel, post a two-line intro.
- `/deal board [week|month|quarter]`: the caller's private view of the channel it is run in.
- `/deal settings board ...`: the channel's board settings, and hide-me / show-me for the rep.
- `sweep_boards` (scheduler, every 5 min): each channel's weekly board once it is due.
- `sweep_kudos` (scheduler, every 2 min): one line per opted-in channel for the decisions since the last one.
- `run_boards` (`hardno leaderboard`): the current period so far, printed or posted.

Decisions (README: docs/leaderboard.md):
- A channel's board lists the channel's members (conversations.members) who have logged at least one
  deal with hardno: those are its reps. Other members (and bots) are not listed.
- A channel's zone is pinned when the bot joins: the most common zone among its reps, else the
  inviter's, else UTC. `/deal settings board <day> <time> [zone]` sets it (the caller's zone by default).
  A channel found without a join event (the bot was already there) uses the most common zone among its
  reps at each sweep, else UTC. Slack's team.info has no time zone, so there is no "workspace zone".
- Exactly once: a delivery row keyed ("board", channel, the week's start in UTC) is claimed before
  posting. A post Slack refused is retried on a later sweep (while the board is still due); a 5xx or a
  timeout may have posted, so it is not retried. At most one scheduled board per channel in six days,
  so moving the day never posts two boards in a row.
- On PostgreSQL a transaction-scoped advisory lock lets one sweep run at a time across hosts.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from handlers import blocks as bk
from handlers.commands import Ask, Reply, subcommand
from handlers.domain.board import (
    Board,
    Closed,
    Period,
    Schedule,
    Span,
    build_board,
    current_span,
    due_board,
    find_zone,
    kudos_line,
    may_be_due,
    most_common_zone,
    previous_span,
    render_lines,
    render_parts,
)
from handlers.domain.grammar import Command
from handlers.domain.model import ChannelSettings
from handlers.settings import Area, area

log = logging.getLogger(__name__)

BOARD, KUDOS = "board", "kudos"  # delivery kinds
MIN_GAP = timedelta(days=6)  # at most one scheduled board per channel in this long
GONE = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}
TURN_OFF = "`/deal settings board off`"
PERIOD_WORDS = {Period.WEEK: "week", Period.MONTH: "month", Period.QUARTER: "quarter"}


def register(app: App) -> None:
    app.event("member_joined_channel")(on_member_joined)


# -- Slack reads --------------------------------------------------------------------------------------------

def channel_members(client, channel_id: str) -> list[str]:
    """Everyone in the channel, every page of conversations.members."""
    members, cursor = [], None
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


# -- a channel's board --------------------------------------------------------------------------------------

@dataclass
class Standings:
    board: Board
    names: dict[str, str]
    reps: int  # the reps listed or hidden: members who have logged a deal

    @property
    def empty(self) -> bool:
        b = self.board
        return self.reps == 0 and b.total == 0 and b.previous_total == 0


def standings(store, members: Iterable[str], span: Span, previous: Span, *, details: bool,
              show: Iterable[str] = ()) -> Standings:
    """Score the members who have logged deals on what they closed out in `span`. Reps who chose
    hide-me are left out by name (their decisions still count in the team total), except those in
    `show` (the caller of `/deal board` always sees their own line)."""
    with store.tx() as tx:
        people = tx.deal_owners_among(members)
        reps = tx.reps_among(people)
        now = [Closed.from_deal(d) for d in tx.closed_by(people, span.start, span.end)]
        before = [Closed.from_deal(d) for d in tx.closed_by(people, previous.start, previous.end)]
    hidden = {r.user_id for r in reps if r.board_hidden} - set(show)
    board = build_board(span, now, before, people, hidden, details=details)
    return Standings(board, {r.user_id: r.name for r in reps}, len(people))


def reps_zone(store, members: Iterable[str]) -> str | None:
    """The zone most of the channel's reps (members who have logged a deal) are in."""
    with store.tx() as tx:
        return most_common_zone(r.tz for r in tx.reps_among(tx.deal_owners_among(members)))


def schedule_of(ch: ChannelSettings, settings) -> Schedule:
    if ch.board_day and ch.board_time:
        parsed = Schedule.parse(ch.board_day, ch.board_time)
        if parsed:
            return parsed
    day, hour, minute = settings.leaderboard_schedule
    return Schedule(day, hour, minute)


def board_blocks(s: Standings, details: bool, footer: str) -> tuple[str, list[Block]]:
    """(notification text, blocks): a header, one short line per rep, the team line, a footer."""
    parts = render_parts(s.board, s.names, details)
    blocks: list[Block] = [HeaderBlock(text=bk.plain(parts.title)),
                           ContextBlock(elements=[bk.md("Won, hard no or dropped: every decision counts.")])]
    rows = list(parts.rows) + ([parts.more] if parts.more else [])
    blocks += _sections(rows)
    if parts.still_working:
        blocks.append(SectionBlock(text=bk.md(parts.still_working)))
    blocks.append(SectionBlock(text=bk.md(parts.team)))
    blocks.append(ContextBlock(elements=[bk.md(footer)]))
    return f"{bk.escape(parts.title)}: {parts.team}", blocks


def _sections(lines: list[str]) -> list[Block]:
    out, chunk = [], ""
    for line in lines:
        if chunk and len(chunk) + 1 + len(line) > bk.MAX_SECTION:
            out.append(SectionBlock(text=bk.md(chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        out.append(SectionBlock(text=bk.md(chunk)))
    return out


def _post_footer(schedule: Schedule, tz: str) -> str:
    return f"Posted {schedule.describe(tz)} · `/deal settings board` changes it, {TURN_OFF} stops it"


# -- the bot joins a channel --------------------------------------------------------------------------------

def on_member_joined(event, body, context, client, store, clock, reps, settings):
    bot = context.get("bot_user_id") or next(
        (a.get("user_id") for a in body.get("authorizations") or [] if a.get("is_bot")), None)
    if not bot or event.get("user") != bot:
        return  # a person joined: their deals show up on the next board by themselves
    channel, now = event["channel"], clock.now()
    with store.tx() as tx:
        ch = tx.channel(channel) or ChannelSettings(channel, team_id=event.get("team") or "")
    if ch.tz is None:
        ch = ch.replace(tz=_zone_at_join(client, store, reps, channel, event.get("inviter")))
    ch = ch.replace(joined_at=now)
    with store.tx() as tx:
        tx.save_channel(ch)
    text = intro(ch, schedule_of(ch, settings))
    try:
        client.chat_postMessage(channel=channel, text=text, blocks=bk.as_dicts([SectionBlock(text=bk.md(text))]),
                                unfurl_links=False, unfurl_media=False)
    except SlackApiError as e:  # nobody to apologise to: the intro is a courtesy, the board still comes
        log.warning("intro in %s not posted: %s", channel, e.response.get("error"))


def _zone_at_join(client, store, reps, channel: str, inviter: str | None) -> str:
    try:
        zone = reps_zone(store, channel_members(client, channel))
    except SlackApiError as e:
        log.warning("conversations.members failed for %s: %s", channel, e.response.get("error"))
        zone = None
    if zone is None and inviter:
        zone = reps.get(inviter).tz
    return zone or "UTC"


def intro(ch: ChannelSettings, schedule: Schedule) -> str:
    if not ch.board_on:
        return ("👋 Hi again! The weekly leaderboard is off in this channel.\n"
                "`/deal settings board on` turns it back on; `/deal settings board` shows the options.")
    return (f"👋 Hi! {schedule.describe(ch.tz or 'UTC')}, I'll post a leaderboard of the deals this channel's "
            f"reps closed out the week before: won, hard no or dropped, every decision counts. "
            f"{'With company names (details are on).' if ch.details else 'Counts only, no company names.'}\n"
            f"Not for this channel? {TURN_OFF} turns it off; `/deal settings board` shows the other options.")


# -- /deal board --------------------------------------------------------------------------------------------

@subcommand("board")
def board_command(ask: Ask, cmd: Command) -> Reply:
    """The caller's view: this channel's reps, the period so far in the caller's own zone.
    In a DM (no channel to rank) it shows the caller's own numbers."""
    period = Period(cmd.option or "week")
    tz, me = ask.rep.tz, ask.rep.user_id
    span = current_span(period, ask.clock.now(), tz)
    previous = previous_span(span, period, tz)
    so_far = f"the {PERIOD_WORDS[period]} so far, in your time zone ({tz})"
    if _is_dm(ask.channel_id):
        mine = standings(ask.store, [me], span, previous, details=True, show=[me])
        text, blocks = board_blocks(mine, True, f"Only you can see this: your own decisions, {so_far}. "
                                                "Run `/deal board` in a team channel for the team's board.")
        return Reply(text, blocks)
    try:
        members = channel_members(ask.client, ask.channel_id)
    except SlackApiError:
        return Reply("I can't see who is in this channel. Invite me first (`/invite @hardno`), "
                     "then `/deal board` shows its leaderboard.")
    with ask.store.tx() as tx:
        ch = tx.channel(ask.channel_id) or ChannelSettings(ask.channel_id)
    s = standings(ask.store, members, span, previous, details=ch.details, show=[me])
    if s.reps == 0:
        return Reply("Nobody in this channel has logged a deal with me yet, so there's no board here. "
                     "Start with `/deal add Acme $12k`.")
    text, blocks = board_blocks(s, ch.details, f"Only you can see this: this channel's reps, {so_far}.")
    return Reply(text, blocks)


def _is_dm(channel_id: str) -> bool:
    return not channel_id or channel_id.startswith("D")


# -- /deal settings board -----------------------------------------------------------------------------------

USAGE = "on|off\n<day> <time> [zone]\ndetails on|off\nlive on|off\nhide-me|show-me"
EXAMPLES = "e.g. `/deal settings board fri 16:00` (your time zone) or `/deal settings board mon 9am Europe/Berlin`"
IN_A_CHANNEL = ("Board settings belong to a channel: run `/deal settings board ...` in the team channel "
                "whose leaderboard you want to change. (`hide-me` and `show-me` work anywhere.)")


def apply_board(ask: Ask, words: list[str]) -> Reply:
    if not words:
        return Reply(f"Leaderboard: {show_board(ask)}\n\n" + _usage())
    head = words[0]
    if head in ("hide-me", "hideme", "show-me", "showme") and len(words) == 1:
        return _set_hidden(ask, head.startswith("hide"))
    if _is_dm(ask.channel_id):
        return Reply(IN_A_CHANNEL)
    with ask.store.tx() as tx:
        ch = tx.channel(ask.channel_id) or ChannelSettings(ask.channel_id, team_id=ask.rep.team_id)
    now = ask.clock.now()
    if words == ["on"]:
        ch, said = ch.replace(board_on=True), (f"The weekly leaderboard is on here: "
                                               f"{schedule_of(ch, ask.settings).describe(_zone_label(ch))}.")
    elif words == ["off"]:
        ch = ch.replace(board_on=False, live=False)
        said = "The weekly leaderboard (and live kudos) are off in this channel. `/deal settings board on` undoes it."
    elif head == "details" and words[1:] in (["on"], ["off"]):
        on = words[1] == "on"
        ch = ch.replace(details=on)
        said = ("This channel's board now names the companies each rep closed out (up to three each)."
                if on else "This channel's board shows counts only again, no company names.")
    elif head == "live" and words[1:] in (["on"], ["off"]):
        on = words[1] == "on"
        ch = ch.replace(live=on, last_kudos_at=now if on else ch.last_kudos_at)
        said = ("Live kudos are on: when a rep here closes out a deal, I post one line (a burst of closes is "
                "still one line)." if on else "Live kudos are off in this channel.")
    elif len(words) in (2, 3) and Schedule.parse(words[0], words[1]):
        schedule = Schedule.parse(words[0], words[1])
        zone = find_zone(words[2]) if len(words) == 3 else ask.rep.tz
        if zone is None:
            return Reply(f"I don't know the time zone “{bk.escape(words[2][:60])}”. Use a name like "
                         f"`Europe/Berlin` or `America/New_York`.")
        ch = ch.replace(board_day=schedule.day, board_time=schedule.time, tz=zone, board_on=True)
        said = f"This channel's leaderboard is now posted {schedule.describe(zone)}."
    else:
        return Reply(f"I didn't get “{bk.escape(' '.join(words)[:80])}”.\n" + _usage())
    with ask.store.tx() as tx:
        tx.save_channel(ch)
    return Reply(said)


def _set_hidden(ask: Ask, hidden: bool) -> Reply:
    with ask.store.tx() as tx:
        rep = tx.rep(ask.rep.user_id) or ask.rep
        tx.save_rep(rep.replace(board_hidden=hidden))
    if hidden:
        return Reply("You won't be named on any leaderboard or in kudos. Your decisions still count in the "
                     "team totals, without your name. `/deal settings board show-me` undoes it.")
    return Reply("You're back on the leaderboards.")


def show_board(ask: Ask) -> str:
    with ask.store.tx() as tx:
        rep = tx.rep(ask.rep.user_id) or ask.rep
        ch = None if _is_dm(ask.channel_id) else tx.channel(ask.channel_id) or ChannelSettings(ask.channel_id)
    you = "you are hidden (hide-me)" if rep.board_hidden else "you are shown"
    if ch is None:
        return f"{you}; run `/deal settings board` in a channel for its settings"
    if not ch.board_on:
        return f"off in this channel; {you}"
    bits = [f"on in this channel, {schedule_of(ch, ask.settings).describe(_zone_label(ch))}",
            "with company names" if ch.details else "counts only",
            "live kudos on" if ch.live else "live kudos off", you]
    return ", ".join(bits)


def _zone_label(ch: ChannelSettings) -> str:
    return ch.tz or "the zone most of its reps share"


def _usage() -> str:
    forms = "\n".join(f"`/deal settings board {form}`" for form in USAGE.splitlines())
    return f"Change it with:\n{forms}\n{EXAMPLES}"


area(Area("board", USAGE, apply_board, show_board))


# -- the scheduled board ------------------------------------------------------------------------------------

@dataclass
class BoardReport:
    posted: list[str] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (channel, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (channel, error)
    notes: list[str] = field(default_factory=list)

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


@contextmanager
def exclusive(store, name: str):
    """True when this process may run the sweep `name` now. On PostgreSQL, a transaction-scoped
    advisory lock held for the whole sweep (one sweep at a time across hosts). On SQLite (one host)
    always True: holding a write transaction open would block the sweep's own writes, and the
    delivery claims keep posts single anyway."""
    if store.dialect != "postgresql":
        yield True
        return
    with store.tx() as tx:
        yield tx.try_lock(name)


def sweep_boards(services, client) -> BoardReport:
    """Post every channel's weekly board that is due (scheduler, every 5 minutes)."""
    report = BoardReport()
    with exclusive(services.store, "boards") as mine:
        if not mine:
            report.notes.append("another sweep is running")
            return report
        for info in bot_channels(client):
            try:
                _sweep_channel(services, client, info["id"], report)
            except Exception as e:  # one channel's trouble must not stop the others
                log.exception("leaderboard for %s failed", info["id"])
                report.failed.append((info["id"], f"{type(e).__name__}: {e}"))
    return report


def _sweep_channel(services, client, channel: str, report: BoardReport) -> None:
    store, now = services.store, services.clock.now()
    with store.tx() as tx:
        ch = tx.channel(channel) or ChannelSettings(channel)
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
        zone = reps_zone(store, members) or "UTC"
    due = due_board(now, zone, schedule)
    if due is None or (ch.joined_at is not None and due.at < ch.joined_at):
        return None
    period = due.span.start.isoformat()
    with store.tx() as tx:
        if not tx.claim_delivery(BOARD, channel, period, now):
            return None  # posted already, or another host is posting it right now
    ok, ts, error = False, None, None
    try:
        ok, ts, error = _post_board(services, client, ch, members, due, schedule, zone, report)
    except Exception as e:  # nothing went out: the next sweep tries again while the board is due
        error = f"{type(e).__name__}: {e}"
        report.failed.append((channel, error))
        log.exception("leaderboard for %s failed", channel)
    finally:
        with store.tx() as tx:
            tx.finish_delivery(BOARD, channel, period, services.clock.now(), ok=ok, channel=channel, ts=ts,
                               error=error)


def _post_board(services, client, ch: ChannelSettings, members, due, schedule: Schedule, zone: str,
                report: BoardReport) -> tuple[bool, str | None, str | None]:
    """(settled, ts, error) for one claimed board. Settled means: never try this one again."""
    if members is None:
        members = channel_members(client, ch.id)
    s = standings(services.store, members, due.span, due.previous, details=ch.details)
    if s.empty:
        report.skipped.append((ch.id, "no reps"))
        return True, None, "nobody here has logged a deal: nothing posted"
    text, blocks = board_blocks(s, ch.details, _post_footer(schedule, zone))
    try:
        ts = client.chat_postMessage(channel=ch.id, text=text, blocks=bk.as_dicts(blocks),
                                     unfurl_links=False, unfurl_media=False)["ts"]
    except SlackApiError as e:
        status = getattr(e.response, "status_code", 200)
        error = f"HTTP {status}: {e.response.get('error')}"
        report.failed.append((ch.id, error))
        log.warning("leaderboard for %s not posted: %s", ch.id, error)
        # Slack refused it (ok: false, 429 after retries): try again. A 5xx may still have posted:
        # settle it rather than risk a double post.
        return status >= 500, None, error
    except TimeoutError as e:
        report.failed.append((ch.id, f"timed out: {e}"))
        return True, None, f"timed out, may have posted: {e}"
    report.posted.append(ch.id)
    return True, ts, None


# -- hardno leaderboard -------------------------------------------------------------------------------------

def run_boards(services, client, *, period: str = "week", post: bool = False,
               out: TextIO = sys.stdout) -> BoardReport:
    """Each channel's board for the current period so far: printed, or posted with `post`.
    Posting on request is not a scheduled delivery: it doesn't stop the scheduled board."""
    report, period = BoardReport(), Period(period)
    store, now = services.store, services.clock.now()
    try:
        channels = bot_channels(client)
    except SlackApiError as e:
        report.notes.append(f"Slack refused users.conversations: {e.response.get('error')}")
        return report
    if not channels:
        report.notes.append("the bot is in no channels yet: invite @hardno to a team channel")
    for info in channels:
        channel = info["id"]
        with store.tx() as tx:
            ch = tx.channel(channel) or ChannelSettings(channel)
        if post and not ch.board_on:
            report.skipped.append((channel, "board off"))
            continue
        try:
            members = channel_members(client, channel)
            zone = ch.tz or reps_zone(store, members) or "UTC"
            span = current_span(period, now, zone)
            s = standings(store, members, span, previous_span(span, period, zone), details=ch.details)
            if not post:
                print(f"#{info['name']} ({channel}) · {zone}" + ("" if ch.board_on else " · board off"), file=out)
                print("\n".join(render_lines(s.board, s.names, ch.details)) + "\n", file=out)
                report.printed.append(channel)
            elif s.empty:
                report.skipped.append((channel, "no reps"))
            else:
                text, blocks = board_blocks(s, ch.details, f"The {PERIOD_WORDS[period]} so far ({zone}), "
                                                           f"posted on request · {TURN_OFF} stops boards here")
                client.chat_postMessage(channel=channel, text=text, blocks=bk.as_dicts(blocks),
                                        unfurl_links=False, unfurl_media=False)
                report.posted.append(channel)
        except SlackApiError as e:
            report.failed.append((channel, str(e.response.get("error"))))
    return report


# -- live kudos ---------------------------------------------------------------------------------------------

def sweep_kudos(services, client) -> BoardReport:
    """One line per opted-in channel for its reps' decisions since the last kudos (scheduler, every
    2 minutes). Batching by sweep is the rate limit: a burst of closes is one message."""
    report, store = BoardReport(), services.store
    with exclusive(store, "kudos") as mine:
        if not mine:
            report.notes.append("another sweep is running")
            return report
        with store.tx() as tx:
            live = [c for c in tx.channels() if c.live and c.board_on]
        for ch in live:
            try:
                _kudos_for(services, client, ch, report)
            except Exception as e:
                log.exception("kudos for %s failed", ch.id)
                report.failed.append((ch.id, f"{type(e).__name__}: {e}"))
    return report


def _kudos_for(services, client, ch: ChannelSettings, report: BoardReport) -> None:
    store, now = services.store, services.clock.now()
    if ch.last_kudos_at is None:
        return _advance(store, ch.id, now)
    since = ch.last_kudos_at
    with store.tx() as tx:
        closes = tx.closed_between(since, now)
    if not closes:
        return None
    try:
        members = set(channel_members(client, ch.id))
    except SlackApiError as e:
        if e.response.get("error") in GONE:  # the bot was removed: stop looking every two minutes
            _turn_off_live(store, ch.id)
        raise
    with store.tx() as tx:
        reps = {r.user_id: r for r in tx.reps_among({d.owner_id for d in closes} & members)}
    shown = [Closed.from_deal(d) for d in closes if d.owner_id in reps and not reps[d.owner_id].board_hidden]
    if not shown:
        return _advance(store, ch.id, now)
    period = since.isoformat()
    with store.tx() as tx:
        if not tx.claim_delivery(KUDOS, ch.id, period, now):
            return None
    line = kudos_line(shown, {u: r.name for u, r in reps.items()}, ch.details)
    ok, ts, error, gone = False, None, None, False
    try:
        ts = client.chat_postMessage(channel=ch.id, text=line, blocks=bk.as_dicts([SectionBlock(text=bk.md(line))]),
                                     unfurl_links=False, unfurl_media=False)["ts"]
        ok = True
        report.posted.append(ch.id)
    except SlackApiError as e:
        error = str(e.response.get("error"))
        gone = error in GONE
        report.failed.append((ch.id, error))
    with store.tx() as tx:
        tx.finish_delivery(KUDOS, ch.id, period, services.clock.now(), ok=ok, channel=ch.id, ts=ts, error=error)
        current = tx.channel(ch.id) or ch
        if ok:
            tx.save_channel(current.replace(last_kudos_at=now))
    if gone:
        _turn_off_live(store, ch.id)


def _turn_off_live(store, channel: str) -> None:
    log.warning("live kudos turned off for %s: the bot is no longer in it", channel)
    with store.tx() as tx:
        current = tx.channel(channel)
        if current is not None:
            tx.save_channel(current.replace(live=False))


def _advance(store, channel: str, to: datetime) -> None:
    with store.tx() as tx:
        current = tx.channel(channel)
        if current is not None:
            tx.save_channel(current.replace(last_kudos_at=to))

