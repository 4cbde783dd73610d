"""Reps and their settings, keyed by (team, user): the same Slack user id in two workspaces is two reps."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from handlers.domain import model as m
from storage import models as t
from storage import rows
from storage.base import TxBase


class RepQueries(TxBase):
    def rep(self, user_id: str) -> m.Rep | None:
        """The rep `user_id` of this transaction's workspace."""
        q = select(t.Rep).where(t.Rep.user_id == user_id, *self._scoped(t.Rep.team_id)).order_by(t.Rep.team_id)
        row = self.s.scalars(q.limit(1)).first()
        return rows.rep(row) if row else None

    def save_rep(self, rep: m.Rep) -> m.Rep:
        rep = rep.replace(team_id=self._team(rep.team_id))
        self.s.merge(t.Rep(**dataclasses.asdict(rep)))
        return rep

    def reps(self) -> list[m.Rep]:
        q = select(t.Rep).where(*self._scoped(t.Rep.team_id)).order_by(t.Rep.team_id, t.Rep.user_id)
        return [rows.rep(r) for r in self.s.scalars(q)]
