"""Deals and their history. Every query takes the owner's user id and is scoped to the transaction's
workspace: a rep can only ever reach their own deals through here, whatever id a button or a typed `#ref`
carries, and the same user id in another workspace is another rep."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from handlers.domain import model as m
from storage import models as t
from storage import rows
from storage.base import TxBase

CLOSED = [s.value for s in m.Status if s is not m.Status.OPEN]


class DealQueries(TxBase):
    def add_deal(self, deal: m.Deal, first: m.Activity) -> m.Deal:
        row = t.Deal(**rows.deal_columns(deal.replace(team_id=self._team(deal.team_id))))
        self.s.add(row)
        self.s.flush()
        self.s.add(t.Activity(**rows.activity_columns(dataclasses.replace(first, deal_id=row.id))))
        return rows.deal(row)

    def deal(self, owner_id: str, deal_id: int, *, lock: bool = False) -> m.Deal | None:
        """The owner's deal. With `lock`, its row stays locked until this transaction ends (SELECT ... FOR
        UPDATE; SQLite's write transactions are serialized already), so what the caller decides from it
        still holds when it writes: a concurrent click waits, then sees this one's result."""
        row = self._deal_row(owner_id, deal_id, for_update=lock)
        return rows.deal(row) if row else None

    def record(self, owner_id: str, deal_id: int, act: m.Activity, **edits: Any) -> m.Deal | None:
        """Log `act` on the owner's deal (and apply field `edits`); None if it isn't theirs."""
        row = self._deal_row(owner_id, deal_id, for_update=True)
        if row is None:
            return None
        deal = m.apply(rows.deal(row).replace(**edits), act)
        for name, value in rows.deal_columns(deal).items():
            setattr(row, name, value)
        self.s.add(t.Activity(**rows.activity_columns(dataclasses.replace(act, deal_id=row.id))))
        self.s.flush()
        return deal

    def deals(self, owner_id: str, statuses: Iterable[m.Status] = (m.Status.OPEN,)) -> list[m.Deal]:
        q = (select(t.Deal).where(t.Deal.owner_id == owner_id, *self._scoped(t.Deal.team_id),
                                  t.Deal.status.in_([s.value for s in statuses]))
             .order_by(t.Deal.status, t.Deal.company, t.Deal.id))
        return [rows.deal(r) for r in self.s.scalars(q)]

    def companies(self, owner_id: str) -> list[tuple[int, str, bool]]:
        """(id, company, is_open) for every deal of the owner: what refs are matched against."""
        q = select(t.Deal.id, t.Deal.company, t.Deal.status).where(t.Deal.owner_id == owner_id,
                                                                   *self._scoped(t.Deal.team_id))
        return [(i, c, s == m.Status.OPEN) for i, c, s in self.s.execute(q)]

    def history(self, owner_id: str, deal_id: int) -> list[m.Activity]:
        q = (select(t.Activity).join(t.Deal, t.Deal.id == t.Activity.deal_id)
             .where(t.Deal.owner_id == owner_id, *self._scoped(t.Deal.team_id), t.Activity.deal_id == deal_id)
             .order_by(t.Activity.at, t.Activity.id))
        return [rows.activity(r) for r in self.s.scalars(q)]

    def last_activity(self, owner_id: str, deal_id: int) -> m.Activity | None:
        q = (select(t.Activity).join(t.Deal, t.Deal.id == t.Activity.deal_id)
             .where(t.Deal.owner_id == owner_id, *self._scoped(t.Deal.team_id), t.Activity.deal_id == deal_id)
             .order_by(t.Activity.at.desc(), t.Activity.id.desc()).limit(1))
        row = self.s.scalars(q).first()
        return rows.activity(row) if row else None

    def closed_between(self, start: datetime, end: datetime, owners: Iterable[str] | None = None) -> list[m.Deal]:
        # `status IN (the closed ones)`, not `!= 'open'`: only that lets PostgreSQL seek ix_deals_status_closed_at
        q = select(t.Deal).where(*self._scoped(t.Deal.team_id), t.Deal.status.in_(CLOSED),
                                 t.Deal.closed_at >= start, t.Deal.closed_at < end)
        if owners is not None:
            q = q.where(t.Deal.owner_id.in_(list(owners)))
        return [rows.deal(r) for r in self.s.scalars(q)]

    def _deal_row(self, owner_id: str, deal_id: int, for_update: bool = False) -> t.Deal | None:
        if not isinstance(deal_id, int) or not (0 < deal_id < 2**63):
            return None
        q = select(t.Deal).where(t.Deal.id == deal_id, t.Deal.owner_id == owner_id, *self._scoped(t.Deal.team_id))
        if for_update:  # and read the row as it is once locked, not as this session saw it before
            q = q.with_for_update().execution_options(populate_existing=True)
        return self.s.scalars(q).first()
