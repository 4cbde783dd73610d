"""Logging deals: what `/deal`, buttons, modals and chat confirmations all call.

Slack-free: takes plain data, returns plain data. Each call is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from handlers.domain import refs
from handlers.domain.model import Activity, Deal, Kind, Rep, Source, Status, new_deal
from handlers.domain.pipeline import Pipeline, sort_pipeline
from handlers.domain.stalls import RepStats, Thresholds

if TYPE_CHECKING:
    from bot.clock import Clock
    from storage import Store

DOUBLE_CLICK = timedelta(seconds=10)  # the same button again within this is a double click, logged once

VERB_KIND = {"maybe": Kind.MAYBE, "touch": Kind.TOUCH, "meet": Kind.MEETING, "won": Kind.WON,
             "no": Kind.NO, "drop": Kind.DROP, "snooze": Kind.SNOOZE, "note": Kind.NOTE,
             "ask": Kind.ASK, "reopen": Kind.REOPEN}


@dataclass(frozen=True)
class Logged:
    deal: Deal
    kind: Kind
    already_closed: bool = False  # logging on a closed deal: we say so instead of silently reopening
    double_click: bool = False  # the same button pressed again within seconds: logged once


def _id(deal: Deal) -> int:
    if deal.id is None:  # pragma: no cover - a stored deal always has one
        raise ValueError(f"deal {deal.company!r} has no id: it was never stored")
    return deal.id


def _present(deal: Deal | None) -> Deal:
    """The deal a record() inside the transaction that found (and locked) it returned: always there."""
    if deal is None:  # pragma: no cover - the row is locked by this very transaction
        raise LookupError("a deal disappeared inside the transaction that locked it")
    return deal


class DealLog:
    """One workspace's deal log: `team` is the workspace of the reps it is asked about (None, every
    workspace: for tests and admin tools only; listeners always bind theirs)."""

    def __init__(self, store: Store, clock: Clock, team: str | None = None):
        self.store, self.clock, self.team = store, clock, team

    def candidates(self, owner_id: str) -> list[refs.Candidate]:
        with self.store.tx(self.team) as tx:
            return [refs.Candidate(i, c, o) for i, c, o in tx.companies(owner_id)]

    def find(self, owner_id: str, ref: str) -> list[refs.Candidate]:
        return refs.match(ref, self.candidates(owner_id))

    def add(self, owner_id: str, team_id: str, company: str, *, amount: Decimal | None = None,
            currency: str | None = None, when: datetime | None = None, contact: str | None = None,
            stage: str | None = None, note: str = "", source: Source = Source.COMMAND) -> Deal:
        now = self.clock.now()
        deal, first = new_deal(owner_id, company, now, source=source, team_id=team_id, amount=amount,
                               currency=currency, contact=contact, stage=stage)
        with self.store.tx(team_id) as tx:
            deal = tx.add_deal(deal, first)
            later = ([Activity(Kind.MEETING, now, "", source, when=when)] if when is not None else []) + \
                    ([Activity(Kind.NOTE, now, note, source)] if note else [])
            for act in later:
                deal = _present(tx.record(owner_id, _id(deal), act))
        return deal

    def log(self, owner_id: str, deal_id: int, kind: Kind, text: str = "", *, when: datetime | None = None,
            source: Source = Source.COMMAND, **edits: Any) -> Logged | None:
        """Record what happened on the owner's deal; None when the deal isn't theirs (or doesn't exist)."""
        now = self.clock.now()
        with self.store.tx(self.team) as tx:
            deal = tx.deal(owner_id, deal_id, lock=True)  # the checks below hold until we have written
            if deal is None:
                return None
            if deal.status is not Status.OPEN and kind not in (Kind.NOTE, Kind.REOPEN):
                return Logged(deal, kind, already_closed=True)
            if source is Source.BUTTON:
                last = tx.last_activity(owner_id, deal_id)
                if last and last.kind is kind and last.source is Source.BUTTON and now - last.at < DOUBLE_CLICK:
                    return Logged(deal, kind, double_click=True)
            deal = _present(tx.record(owner_id, deal_id, Activity(kind, now, text, source, when=when), **edits))
        return Logged(deal, kind)

    def deal(self, owner_id: str, deal_id: int) -> Deal | None:
        with self.store.tx(self.team) as tx:
            return tx.deal(owner_id, deal_id)

    def history(self, owner_id: str, deal_id: int) -> list[Activity]:
        with self.store.tx(self.team) as tx:
            return tx.history(owner_id, deal_id)

    def pipeline(self, rep: Rep, which: str = "open") -> Pipeline:
        """The rep's deals grouped as Home and `/deal list` show them: "needs a decision" is what their
        digest would list now (the same rules, workspace thresholds, rep medians, zone and clock)."""
        statuses = {"open": [Status.OPEN], "maybes": [Status.OPEN], "closed": list(Status)[1:],
                    "all": list(Status)}[which]
        owner = rep.user_id
        th, stats = Thresholds(), RepStats()
        with self.store.tx(rep.team_id) as tx:
            deals = tx.deals(owner, statuses)
            if which != "closed":  # only open deals are judged
                th = Thresholds.from_overrides(tx.workspace_thresholds().get(rep.team_id))
                stats = RepStats(median_amounts=tx.median_amounts([owner]).get(owner, {}),
                                 median_stage_days=tx.median_stage_days([owner]).get(owner, {}))
        return sort_pipeline(deals, self.clock.now(), rep.tz, which, stats, th)

    def closed_since(self, owner_id: str, days: int) -> list[Deal]:
        now = self.clock.now()
        with self.store.tx(self.team) as tx:
            return tx.closed_between(now - timedelta(days=days), now + timedelta(seconds=1), [owner_id])

    def all_deals(self, owner_id: str) -> list[Deal]:
        with self.store.tx(self.team) as tx:
            return tx.deals(owner_id, list(Status))

