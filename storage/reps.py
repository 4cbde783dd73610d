"""Reps and their settings."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from handlers.domain import model as m
from storage import models as t
from storage import rows
from storage.base import TxBase


class RepQueries(TxBase):
    def rep(self, user_id: str) -> m.Rep | None:
        row = self.s.get(t.Rep, user_id)
        return rows.rep(row) if row else None

    def save_rep(self, rep: m.Rep) -> m.Rep:
        self.s.merge(t.Rep(**dataclasses.asdict(rep)))
        return rep

    def reps(self) -> list[m.Rep]:
        return [rows.rep(r) for r in self.s.scalars(select(t.Rep).order_by(t.Rep.user_id))]
