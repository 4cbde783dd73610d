"""`/deal settings board ...`: the channel's board settings, and hide-me / show-me for the rep."""

from __future__ import annotations

from handlers import blocks as bk
from handlers.board.command import _is_dm
from handlers.board.standings import schedule_of
from handlers.commands import Ask, Reply
from handlers.domain.board_schedule import Schedule
from handlers.domain.model import ChannelSettings
from handlers.domain.zones import find_zone
from handlers.settings import Area

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
    with ask.store.tx(ask.rep.team_id) as tx:
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
    elif len(words) in (2, 3) and (schedule := Schedule.parse(words[0], words[1])) is not None:
        zone = find_zone(words[2]) if len(words) == 3 else ask.rep.tz
        if zone is None:
            return Reply(f"I don't know the time zone “{bk.escape(words[2][:60])}”. Use a name like "
                         f"`Europe/Berlin` or `America/New_York`.")
        ch = ch.replace(board_day=schedule.day, board_time=schedule.time, tz=zone, board_on=True)
        said = f"This channel's leaderboard is now posted {schedule.describe(zone)}."
    else:
        return Reply(f"I didn't get “{bk.escape(' '.join(words)[:80])}”.\n" + _usage())
    with ask.store.tx(ask.rep.team_id) as tx:
        tx.save_channel(ch)
    return Reply(said)


def _set_hidden(ask: Ask, hidden: bool) -> Reply:
    with ask.store.tx(ask.rep.team_id) as tx:
        rep = tx.rep(ask.rep.user_id) or ask.rep
        tx.save_rep(rep.replace(board_hidden=hidden))
    if hidden:
        return Reply("You won't be named on any leaderboard or in kudos. Your decisions still count in the "
                     "team totals, without your name. `/deal settings board show-me` undoes it.")
    return Reply("You're back on the leaderboards.")


def show_board(ask: Ask) -> str:
    with ask.store.tx(ask.rep.team_id) as tx:
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


AREA = Area("board", USAGE, apply_board, show_board)
