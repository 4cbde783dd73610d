"""Intention-revealing queries. One `Tx` is one transaction, i.e. one user action.

Every deal query takes the owner's user id: a rep can only ever reach their own
deals through here, whatever id a button or a typed `#ref` carries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from handlers.domain import model as m
from storage import models as t
from storage.boards import BoardQueries
from storage.db import connect
from storage.deliveries import DeliveryQueries
from storage.planning import PlanningQueries

_DEAL_FIELDS = [f.name for f in dataclasses.fields(m.Deal)]
_ACT_FIELDS = [f.name for f in dataclasses.fields(m.Activity)]
_REP_FIELDS = [f.name for f in dataclasses.fields(m.Rep)]
_CHANNEL_FIELDS = [f.name for f in dataclasses.fields(m.ChannelSettings)]

LIST_FILTERS = {
    "open": [m.Status.OPEN],
    "closed": [m.Status.WON, m.Status.NO, m.Status.DROPPED],
    "all": list(m.Status),
}


class Store:
    """The database behind hardno. Thread-safe: each `tx()` has its own session."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._reads = sessionmaker(engine.execution_options(hardno_read_only=True), expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(connect(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._sessions.begin() as session:
            yield Tx(session)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A transaction that only reads, for long ones like the morning plan: on SQLite it takes no write
        lock (WAL readers never block the writer, so clicks and claims go on meanwhile); on PostgreSQL it is
        READ ONLY, so a write slipped in by mistake fails loudly."""
        with self._reads.begin() as session:
            if self.dialect == "postgresql":
                session.execute(text("SET TRANSACTION READ ONLY"))
            yield Tx(session)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


class Tx(DeliveryQueries, BoardQueries, PlanningQueries):
    """Scheduled deliveries, leaderboard reads and the digest planning scan live in their own modules
    (storage/deliveries.py, boards.py, planning.py), mixed in here under the same names."""

    def __init__(self, session: Session):
        self.s = session

    # -- reps ---------------------------------------------------------------
    def rep(self, user_id: str) -> m.Rep | None:
        row = self.s.get(t.Rep, user_id)
        return _to(m.Rep, row, _REP_FIELDS) if row else None

    def save_rep(self, rep: m.Rep) -> m.Rep:
        self.s.merge(t.Rep(**dataclasses.asdict(rep)))
        return rep

    def reps(self) -> list[m.Rep]:
        return [_to(m.Rep, r, _REP_FIELDS) for r in self.s.scalars(select(t.Rep).order_by(t.Rep.user_id))]

    # -- deals --------------------------------------------------------------
    def add_deal(self, deal: m.Deal, first: m.Activity) -> m.Deal:
        row = t.Deal(**_deal_columns(deal))
        self.s.add(row)
        self.s.flush()
        self.s.add(t.Activity(**_act_columns(dataclasses.replace(first, deal_id=row.id))))
        return _deal(row)

    def deal(self, owner_id: str, deal_id: int) -> m.Deal | None:
        row = self._deal_row(owner_id, deal_id)
        return _deal(row) if row else None

    def record(self, owner_id: str, deal_id: int, act: m.Activity, **edits) -> m.Deal | None:
        """Log `act` on the owner's deal (and apply field `edits`); None if it isn't theirs."""
        row = self._deal_row(owner_id, deal_id, for_update=True)
        if row is None:
            return None
        deal = m.apply(_deal(row).replace(**edits), act)
        for name, value in _deal_columns(deal).items():
            setattr(row, name, value)
        self.s.add(t.Activity(**_act_columns(dataclasses.replace(act, deal_id=row.id))))
        self.s.flush()
        return deal

    def deals(self, owner_id: str, statuses: Iterable[m.Status] = (m.Status.OPEN,)) -> list[m.Deal]:
        q = (select(t.Deal).where(t.Deal.owner_id == owner_id, t.Deal.status.in_([s.value for s in statuses]))
             .order_by(t.Deal.status, t.Deal.company, t.Deal.id))
        return [_deal(r) for r in self.s.scalars(q)]

    def companies(self, owner_id: str) -> list[tuple[int, str, bool]]:
        """(id, company, is_open) for every deal of the owner: what refs are matched against."""
        q = select(t.Deal.id, t.Deal.company, t.Deal.status).where(t.Deal.owner_id == owner_id)
        return [(i, c, s == m.Status.OPEN) for i, c, s in self.s.execute(q)]

    def history(self, owner_id: str, deal_id: int) -> list[m.Activity]:
        q = (select(t.Activity).join(t.Deal, t.Deal.id == t.Activity.deal_id)
             .where(t.Deal.owner_id == owner_id, t.Activity.deal_id == deal_id)
             .order_by(t.Activity.at, t.Activity.id))
        return [_act(r) for r in self.s.scalars(q)]

    def last_activity(self, owner_id: str, deal_id: int) -> m.Activity | None:
        q = (select(t.Activity).join(t.Deal, t.Deal.id == t.Activity.deal_id)
             .where(t.Deal.owner_id == owner_id, t.Activity.deal_id == deal_id)
             .order_by(t.Activity.at.desc(), t.Activity.id.desc()).limit(1))
        row = self.s.scalars(q).first()
        return _act(row) if row else None

    def closed_between(self, start: datetime, end: datetime, owners: Iterable[str] | None = None) -> list[m.Deal]:
        q = select(t.Deal).where(t.Deal.status != m.Status.OPEN.value,
                                 t.Deal.closed_at >= start, t.Deal.closed_at < end)
        if owners is not None:
            q = q.where(t.Deal.owner_id.in_(list(owners)))
        return [_deal(r) for r in self.s.scalars(q)]

    def _deal_row(self, owner_id: str, deal_id: int, for_update: bool = False) -> t.Deal | None:
        if not isinstance(deal_id, int) or not (0 < deal_id < 2**63):
            return None
        q = select(t.Deal).where(t.Deal.id == deal_id, t.Deal.owner_id == owner_id)
        if for_update:
            q = q.with_for_update()
        return self.s.scalars(q).first()

    # -- Slack events -------------------------------------------------------
    def first_delivery_of_event(self, event_id: str, now: datetime) -> bool:
        """Claim `event_id`; False when it was handled already (a retry of a delivered event)."""
        return self._insert_once(t.SlackEvent, {"event_id": event_id, "received_at": now})

    def forget_events_before(self, cutoff: datetime) -> int:
        return self.s.execute(delete(t.SlackEvent).where(t.SlackEvent.received_at < cutoff)).rowcount

    # -- chat proposals -----------------------------------------------------
    def save_proposal(self, user_id: str, payload: dict, now: datetime) -> int:
        row = t.Proposal(user_id=user_id, payload=payload, created_at=now)
        self.s.add(row)
        self.s.flush()
        return row.id

    def proposal(self, user_id: str, proposal_id: int) -> tuple[str, dict] | None:
        """(state, payload) of the user's own proposal."""
        if not isinstance(proposal_id, int) or not (0 < proposal_id < 2**63):
            return None
        row = self.s.scalars(select(t.Proposal).where(t.Proposal.id == proposal_id, t.Proposal.user_id == user_id)
                             .with_for_update()).first()
        return (row.state, row.payload) if row else None

    def settle_proposal(self, user_id: str, proposal_id: int, state: str) -> bool:
        """Move a pending proposal to `state`; False if it was settled already (a double click)."""
        res = self.s.execute(update(t.Proposal).where(
            t.Proposal.id == proposal_id, t.Proposal.user_id == user_id, t.Proposal.state == "pending")
            .values(state=state))
        return res.rowcount == 1

    # -- channels -----------------------------------------------------------
    def channel(self, channel_id: str) -> m.ChannelSettings | None:
        row = self.s.get(t.Channel, channel_id)
        return _to(m.ChannelSettings, row, _CHANNEL_FIELDS) if row else None

    def save_channel(self, ch: m.ChannelSettings) -> m.ChannelSettings:
        self.s.merge(t.Channel(**dataclasses.asdict(ch)))
        return ch

    def channels(self) -> list[m.ChannelSettings]:
        return [_to(m.ChannelSettings, r, _CHANNEL_FIELDS)
                for r in self.s.scalars(select(t.Channel).order_by(t.Channel.id))]

    def count(self, what: str) -> int:
        table = {"deals": t.Deal, "activities": t.Activity, "reps": t.Rep}[what]
        return self.s.scalar(select(func.count()).select_from(table))

    # -- helpers ------------------------------------------------------------
    def _insert_once(self, table, values: dict) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING; True when this call inserted the row."""
        dialect = self.s.bind.dialect.name
        if dialect == "postgresql":
            stmt = pg_insert(table).values(**values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - other backends: plain insert, let the constraint speak
            stmt = insert(table).values(**values)
        # rowcount is unreliable for this statement on some drivers; RETURNING is not.
        key = next(iter(table.__table__.primary_key.columns))
        return self.s.execute(stmt.returning(key)).first() is not None

def _to(cls, row, fields):
    return cls(**{f: getattr(row, f) for f in fields})


def _deal_columns(deal: m.Deal) -> dict:
    cols = {f: getattr(deal, f) for f in _DEAL_FIELDS if f != "id" or deal.id is not None}
    cols["status"] = m.Status(deal.status).value
    return cols


def _act_columns(act: m.Activity) -> dict:
    cols = {f: getattr(act, f) for f in _ACT_FIELDS if f != "id" or act.id is not None}
    cols["kind"], cols["source"] = m.Kind(act.kind).value, m.Source(act.source).value
    return cols


def _deal(row: t.Deal) -> m.Deal:
    d = _to(m.Deal, row, _DEAL_FIELDS)
    return d.replace(status=m.Status(d.status))


def _act(row: t.Activity) -> m.Activity:
    a = _to(m.Activity, row, _ACT_FIELDS)
    return dataclasses.replace(a, kind=m.Kind(a.kind), source=m.Source(a.source))
