"""Leaderboard queries: who in a channel has logged deals, and what they closed out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from handlers.domain import model as m
from storage import models as t
from storage import rows
from storage.deals import DealQueries


class BoardQueries(DealQueries):  # closed_by reads DealQueries.closed_between

    def deal_owners_among(self, user_ids: Iterable[str]) -> set[str]:
        """Which of `user_ids` have logged at least one deal: the reps a channel's board lists."""
        found: set[str] = set()
        for chunk in self._chunks(user_ids):
            q = select(t.Deal.owner_id).where(t.Deal.owner_id.in_(chunk), *self._scoped(t.Deal.team_id))
            found.update(self.s.scalars(q.distinct()))
        return found

    def reps_among(self, user_ids: Iterable[str]) -> list[m.Rep]:
        reps: list[m.Rep] = []
        for chunk in self._chunks(user_ids):
            q = select(t.Rep).where(t.Rep.user_id.in_(chunk), *self._scoped(t.Rep.team_id))
            reps += [rows.rep(r) for r in self.s.scalars(q)]
        return reps

    def closed_by(self, owners: Iterable[str], start: datetime, end: datetime) -> list[m.Deal]:
        """Deals of `owners` closed out in [start, end), however many owners there are."""
        deals: list[m.Deal] = []
        for chunk in self._chunks(owners):
            deals += self.closed_between(start, end, chunk)
        return deals
