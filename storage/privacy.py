"""Data rights: everything stored about one rep, or one workspace, found, exported and deleted.

A mixin of `Tx` (so these run in the caller's one transaction). Rows are found by the team id that reps,
deals and channels carry, and by the owner: a deal of a rep of the workspace goes with the workspace even
when its own team id was never filled in.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import column, delete, func, inspect, or_, select, table

from storage import models as t
from storage.base import TxBase

# Where slack_sdk's SQLAlchemy installation store keeps workspaces' tokens, when OAuth is on.
TOKEN_TABLES = ("slack_bots", "slack_installations")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(row: Any, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.key: _plain(getattr(row, c.key)) for c in inspect(row).mapper.column_attrs if c.key not in leave_out}


def _rowcount(result: Any) -> int:
    return result.rowcount or 0  # a CursorResult: DELETE reports the rows it removed


class PrivacyQueries(TxBase):
    # -- one rep: /deal forget me -------------------------------------------
    def rep_data_counts(self, user_id: str) -> dict[str, int]:
        """How much is stored about this rep, by what the forget-me reply names."""
        deals = select(t.Deal.id).where(t.Deal.owner_id == user_id)
        return {
            "deals": self._count(t.Deal, t.Deal.owner_id == user_id),
            "history": self._count(t.Activity, t.Activity.deal_id.in_(deals)),
            "proposals": self._count(t.Proposal, t.Proposal.user_id == user_id)
            + self._count(t.CoachDraft, t.CoachDraft.user_id == user_id),
            "settings": self._count(t.Rep, t.Rep.user_id == user_id),
            "deliveries": self._count(t.Delivery, t.Delivery.target == user_id),
        }

    def forget_rep(self, user_id: str) -> dict[str, int]:
        """Delete everything stored about this rep; the counts of what went."""
        deals = select(t.Deal.id).where(t.Deal.owner_id == user_id).scalar_subquery()
        return {
            # history first: SQLite's cascade only runs with foreign keys on, so don't rely on it
            "history": self._delete(t.Activity, t.Activity.deal_id.in_(deals)),
            "deals": self._delete(t.Deal, t.Deal.owner_id == user_id),
            # the coach's record of drafts shown to them goes with the drafts themselves
            "proposals": self._delete(t.Proposal, t.Proposal.user_id == user_id)
            + self._delete(t.CoachDraft, t.CoachDraft.user_id == user_id),
            "settings": self._delete(t.Rep, t.Rep.user_id == user_id),
            "deliveries": self._delete(t.Delivery, t.Delivery.target == user_id),
        }

    # -- one workspace: hardno export / purge --------------------------------
    def _team_filters(self, team_id: str):
        reps = select(t.Rep.user_id).where(t.Rep.team_id == team_id).scalar_subquery()
        channels = select(t.Channel.id).where(t.Channel.team_id == team_id).scalar_subquery()
        deal_of_team = or_(t.Deal.team_id == team_id, t.Deal.owner_id.in_(reps))
        deals = select(t.Deal.id).where(deal_of_team).scalar_subquery()
        return {
            "history": (t.Activity, t.Activity.deal_id.in_(deals)),
            "deals": (t.Deal, deal_of_team),
            "proposals": (t.Proposal, t.Proposal.user_id.in_(reps)),
            "coach drafts": (t.CoachDraft, or_(t.CoachDraft.team_id == team_id, t.CoachDraft.user_id.in_(reps))),
            "deliveries": (t.Delivery, or_(t.Delivery.target.in_(reps), t.Delivery.target.in_(channels))),
            "reps": (t.Rep, t.Rep.team_id == team_id),
            "channels": (t.Channel, t.Channel.team_id == team_id),
            "workspace": (t.Workspace, t.Workspace.team_id == team_id),
        }

    def team_export(self, team_id: str) -> dict[str, Any]:
        """Everything stored for one workspace as plain JSON-ready data; never a token."""
        f = self._team_filters(team_id)
        out: dict[str, Any] = {"team_id": team_id}
        workspace = self.s.scalars(select(t.Workspace).where(f["workspace"][1])).first()
        out["workspace"] = _row(workspace) if workspace else None
        out["reps"] = [_row(r) for r in self.s.scalars(select(t.Rep).where(f["reps"][1]).order_by(t.Rep.user_id))]
        out["channels"] = [_row(c) for c in self.s.scalars(select(t.Channel).where(f["channels"][1])
                                                          .order_by(t.Channel.id))]
        history: dict[int, list[dict]] = {}
        for a in self.s.scalars(select(t.Activity).where(f["history"][1]).order_by(t.Activity.at, t.Activity.id)):
            history.setdefault(a.deal_id, []).append(_row(a, ("deal_id",)))
        out["deals"] = [{**_row(d), "history": history.get(d.id, [])}
                        for d in self.s.scalars(select(t.Deal).where(f["deals"][1]).order_by(t.Deal.id))]
        out["proposals"] = [_row(p) for p in self.s.scalars(select(t.Proposal).where(f["proposals"][1])
                                                            .order_by(t.Proposal.id))]
        out["coach_drafts"] = [_row(d) for d in self.s.scalars(select(t.CoachDraft).where(f["coach drafts"][1])
                                                               .order_by(t.CoachDraft.id))]
        out["deliveries"] = [_row(d, ("error",)) for d in self.s.scalars(select(t.Delivery).where(f["deliveries"][1])
                                                                        .order_by(t.Delivery.id))]
        return out

    def team_counts(self, team_id: str) -> dict[str, int]:
        counts = {name: self._count(model, where) for name, (model, where) in self._team_filters(team_id).items()}
        counts["tokens"] = sum(self._token_rows(name, team_id, delete_them=False) for name in self._token_tables())
        return counts

    def purge_team(self, team_id: str) -> dict[str, int]:
        """Delete everything stored for one workspace, its tokens included; the counts of what went."""
        gone = {name: self._delete(model, where) for name, (model, where) in self._team_filters(team_id).items()}
        gone["tokens"] = sum(self._token_rows(name, team_id, delete_them=True) for name in self._token_tables())
        return gone

    # -- helpers --------------------------------------------------------------
    def _token_tables(self) -> list[str]:
        present = set(inspect(self.s.connection()).get_table_names())
        return [name for name in TOKEN_TABLES if name in present]

    def _token_rows(self, name: str, team_id: str, *, delete_them: bool) -> int:
        tokens = table(name, column("team_id"))
        where = tokens.c.team_id == team_id
        if delete_them:
            return _rowcount(self.s.execute(delete(tokens).where(where)))
        return self.s.execute(select(func.count()).select_from(tokens).where(where)).scalar_one()

    def _count(self, model, where) -> int:
        return self.s.execute(select(func.count()).select_from(model).where(where)).scalar_one()

    def _delete(self, model, where) -> int:
        return _rowcount(self.s.execute(delete(model).where(where), execution_options={"synchronize_session": False}))
