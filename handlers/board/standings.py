"""A channel's standings: its reps (members who have logged a deal), scored on what they closed out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from handlers.domain.board import Board, Closed, Span, build_board
from handlers.domain.board_schedule import Schedule
from handlers.domain.model import ChannelSettings
from handlers.domain.zones import most_common_zone


@dataclass
class Standings:
    board: Board
    names: dict[str, str]
    reps: int  # the reps listed or hidden: members who have logged a deal

    @property
    def empty(self) -> bool:
        b = self.board
        return self.reps == 0 and b.total == 0 and b.previous_total == 0


def standings(store, team: str, members: Iterable[str], span: Span, previous: Span, *, details: bool,
              show: Iterable[str] = ()) -> Standings:
    """Score the members who have logged deals in the workspace `team` on what they closed out in `span`
    (a shared channel's members from another workspace are not its reps here). Reps who chose
    hide-me are left out by name (their decisions still count in the team total), except those in
    `show` (the caller of `/deal board` always sees their own line)."""
    with store.tx(team) as tx:
        people = tx.deal_owners_among(members)
        reps = tx.reps_among(people)
        now = [Closed.from_deal(d) for d in tx.closed_by(people, span.start, span.end)]
        before = [Closed.from_deal(d) for d in tx.closed_by(people, previous.start, previous.end)]
    hidden = {r.user_id for r in reps if r.board_hidden} - set(show)
    board = build_board(span, now, before, people, hidden, details=details)
    return Standings(board, {r.user_id: r.name for r in reps}, len(people))


def reps_zone(store, team: str, members: Iterable[str]) -> str | None:
    """The zone most of the channel's reps (members who have logged a deal in `team`) are in."""
    with store.tx(team) as tx:
        return most_common_zone(r.tz for r in tx.reps_among(tx.deal_owners_among(members)))


def schedule_of(ch: ChannelSettings, settings) -> Schedule:
    if ch.board_day and ch.board_time:
        parsed = Schedule.parse(ch.board_day, ch.board_time)
        if parsed:
            return parsed
    day, hour, minute = settings.leaderboard_schedule
    return Schedule(day, hour, minute)
