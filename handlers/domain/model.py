"""The plain data every part of hardno speaks: deals and what happened to them.

A deal's history (its activities) is the record of truth. The counters on
`Deal` (maybes so far, unanswered touches, ...) are a projection of that
history, kept up to date by `apply`, so the nudger can judge a million deals
from one table scan instead of replaying every history each morning.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OPEN = "open"
    WON = "won"
    NO = "no"  # the prospect gave a hard no
    DROPPED = "dropped"  # we decided it is not a fit

    @property
    def closed(self) -> bool:
        return self is not Status.OPEN


class Kind(StrEnum):
    """What an activity records."""

    ADDED = "added"
    MAYBE = "maybe"  # maybe / not now / send me info: an answer, but no decision
    TOUCH = "touch"  # an attempt that got no answer
    MEETING = "meeting"  # a next meeting is agreed (`when` holds its time)
    WON = "won"
    NO = "no"
    DROP = "drop"
    NOTE = "note"
    SNOOZE = "snooze"  # `when` holds the end of the snooze
    ASK = "ask"  # a decision ask was sent (also an attempt until answered)
    STAGE = "stage"  # `text` holds the new stage
    REOPEN = "reopen"


class Source(StrEnum):
    COMMAND = "command"
    CHAT = "chat"
    BUTTON = "button"
    MODAL = "modal"
    SHORTCUT = "shortcut"
    COACH = "coach"
    CRM = "crm"  # pulled from HubSpot by the sync (never pushed back)
    IMPORT = "import"  # read from a CSV export by `hardno import`


# The prospect spoke: these reset the run of unanswered attempts.
ANSWERS = frozenset({Kind.MAYBE, Kind.MEETING, Kind.WON, Kind.NO})
# Attempts that may go unanswered.
ATTEMPTS = frozenset({Kind.TOUCH, Kind.ASK})
CLOSING = {Kind.WON: Status.WON, Kind.NO: Status.NO, Kind.DROP: Status.DROPPED}


@dataclass(frozen=True, slots=True)
class Activity:
    kind: Kind
    at: datetime  # aware, UTC
    text: str = ""
    source: Source = Source.COMMAND
    when: datetime | None = None  # meeting time or snooze end, aware UTC
    id: int | None = None
    deal_id: int | None = None


@dataclass(frozen=True, slots=True)
class Deal:
    owner_id: str  # Slack user id of the rep
    company: str
    created_at: datetime
    team_id: str = ""
    id: int | None = None
    contact: str | None = None
    amount: Decimal | None = None
    currency: str | None = None  # ISO 4217 code, e.g. "USD"
    stage: str | None = None
    status: Status = Status.OPEN
    next_meeting_at: datetime | None = None
    snoozed_until: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    # Projection of the history, maintained by `apply`.
    maybe_count: int = 0
    first_maybe_at: datetime | None = None
    last_maybe_at: datetime | None = None
    last_maybe_note: str | None = None
    touch_count: int = 0  # every unanswered attempt ever
    touches_since_answer: int = 0
    last_answer_at: datetime | None = None
    last_activity_at: datetime | None = None
    stage_since: datetime | None = None
    asked_at: datetime | None = None  # last decision ask, until answered

    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN

    def replace(self, **changes: Any) -> Deal:
        return dataclasses.replace(self, **changes)


def new_deal(owner_id: str, company: str, now: datetime, source: Source = Source.COMMAND,
             **fields: Any) -> tuple[Deal, Activity]:
    """A fresh open deal and the 'added' activity that starts its history."""
    deal = Deal(owner_id=owner_id, company=company, created_at=now, updated_at=now,
                last_activity_at=now, stage_since=now, **fields)
    return deal, Activity(Kind.ADDED, now, source=source)


def apply(deal: Deal, act: Activity) -> Deal:
    """The deal after `act` happened: the one place the projection is computed."""
    c: dict[str, Any] = {"updated_at": act.at, "last_activity_at": max_time(deal.last_activity_at, act.at)}
    k = act.kind
    if k in ANSWERS:
        c.update(touches_since_answer=0, last_answer_at=act.at, asked_at=None)
    if k in ATTEMPTS:
        c.update(touch_count=deal.touch_count + 1,
                 touches_since_answer=deal.touches_since_answer + 1)
    if k is Kind.MAYBE:
        c.update(maybe_count=deal.maybe_count + 1, last_maybe_at=act.at,
                 first_maybe_at=deal.first_maybe_at or act.at,
                 last_maybe_note=act.text or deal.last_maybe_note)
        if act.when is not None:  # "try after Jan 15": the prospect named a date
            c["snoozed_until"] = act.when
    elif k is Kind.MEETING:
        c["next_meeting_at"] = act.when
    elif k is Kind.SNOOZE:
        c["snoozed_until"] = act.when
    elif k is Kind.ASK:
        c["asked_at"] = act.at
    elif k is Kind.STAGE:
        c.update(stage=act.text or None, stage_since=act.at)
    elif k in CLOSING:
        c.update(status=CLOSING[k], closed_at=act.at, close_reason=act.text or None)
    elif k is Kind.REOPEN:
        c.update(status=Status.OPEN, closed_at=None, close_reason=None)
    return deal.replace(**c)


def replay(deal: Deal, history: list[Activity]) -> Deal:
    """Rebuild the projection from scratch (used to check `apply` stays consistent)."""
    for act in sorted(history, key=lambda a: a.at):
        deal = apply(deal, act)
    return deal


def max_time(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


@dataclass(frozen=True, slots=True)
class Rep:
    """A sales rep: a Slack user, with the settings the bot keeps for them."""

    user_id: str
    team_id: str = ""
    name: str = ""
    tz: str = "UTC"  # IANA zone from the rep's Slack profile
    tz_checked_at: datetime | None = None
    dm_channel: str | None = None
    digest_hour: int | None = None  # None: the workspace default (HARDNO_DIGEST_HOUR)
    digest_on: bool = True
    digest_weekends: bool = False
    board_hidden: bool = False

    def replace(self, **changes: Any) -> Rep:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """A channel the bot is a member of, and how its leaderboard behaves there."""

    id: str
    team_id: str = ""
    board_on: bool = True
    board_day: str | None = None  # "mon".."sun"; None: HARDNO_LEADERBOARD_CRON
    board_time: str | None = None  # "09:00"
    tz: str | None = None
    details: bool = False  # show company names in the channel
    live: bool = False  # one-line kudos when a member closes out a deal
    last_kudos_at: datetime | None = None
    joined_at: datetime | None = None

    def replace(self, **changes: Any) -> ChannelSettings:
        return dataclasses.replace(self, **changes)
