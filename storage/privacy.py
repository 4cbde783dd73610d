"""Data rights: everything stored about one rep, or one workspace, found, exported and deleted.

A mixin of `Tx` (so these run in the caller's one transaction). A rep's rows are found in the transaction's
workspace only (forget-me never reaches the same user id in another workspace); a workspace's rows by the
team id every scoped table carries (activities and CRM pushes through their deal).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, column, delete, func, inspect, select, table

from storage import models as t
from storage.base import TxBase

# Where slack_sdk's SQLAlchemy installation store keeps workspaces' tokens, when OAuth is on.
TOKEN_TABLES = ("slack_bots", "slack_installations")
# What the forget-me reply names (CRM links and pushes of the rep's deals go with them, uncounted).
FORGET_NAMES = ("history", "deals", "proposals", "settings", "deliveries", "drills")


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


def _named(counts: dict[str, int]) -> dict[str, int]:
    """Counts by what the forget-me reply names: the coach's records of drafts count with the drafts."""
    counts["proposals"] += counts.get("coach_drafts", 0)
    return {name: counts[name] for name in FORGET_NAMES}


class PrivacyQueries(TxBase):
    # -- one rep: /deal forget me -------------------------------------------
    def _rep_filters(self, user_id: str) -> dict[str, tuple]:
        # forget-me acts in the caller's workspace (the handler's transaction is bound to it)
        mine = and_(t.Deal.owner_id == user_id, *self._scoped(t.Deal.team_id))
        deals = select(t.Deal.id).where(mine).scalar_subquery()
        return {
            # history first: SQLite's cascade only runs with foreign keys on, so don't rely on it
            "history": (t.Activity, t.Activity.deal_id.in_(deals)),
            "crm": (t.CrmLink, t.CrmLink.deal_id.in_(deals)),
            "pushes": (t.CrmPush, t.CrmPush.deal_id.in_(deals)),
            "deals": (t.Deal, mine),
            "proposals": (t.Proposal, and_(t.Proposal.user_id == user_id, *self._scoped(t.Proposal.team_id))),
            # the coach's record of the drafts shown to them: named with the drafts (proposals) in the reply
            "coach_drafts": (t.CoachDraft, and_(t.CoachDraft.user_id == user_id, *self._scoped(t.CoachDraft.team_id))),
            "settings": (t.Rep, and_(t.Rep.user_id == user_id, *self._scoped(t.Rep.team_id))),
            "deliveries": (t.Delivery, and_(t.Delivery.target == user_id, *self._scoped(t.Delivery.team_id))),
            "drills": (t.Drill, and_(t.Drill.user_id == user_id, *self._scoped(t.Drill.team_id))),
        }

    def rep_data_counts(self, user_id: str) -> dict[str, int]:
        """How much is stored about this rep, by what the forget-me reply names."""
        return _named({name: self._count(model, where) for name, (model, where) in self._rep_filters(user_id).items()})

    def forget_rep(self, user_id: str) -> dict[str, int]:
        """Delete everything stored about this rep in this workspace; the counts of what went."""
        return _named({name: self._delete(model, where) for name, (model, where) in self._rep_filters(user_id).items()})

    # -- one workspace: hardno export / purge --------------------------------
    def _team_filters(self, team_id: str) -> dict[str, tuple]:
        """Every scoped table's rows of the workspace, children before what they belong to (the deletes run
        in this order)."""
        deals = select(t.Deal.id).where(t.Deal.team_id == team_id).scalar_subquery()
        return {
            "history": (t.Activity, t.Activity.deal_id.in_(deals)),
            "crm_pushes": (t.CrmPush, t.CrmPush.deal_id.in_(deals)),
            "crm_links": (t.CrmLink, t.CrmLink.team_id == team_id),
            "crm_state": (t.CrmState, t.CrmState.team_id == team_id),
            "deals": (t.Deal, t.Deal.team_id == team_id),
            "proposals": (t.Proposal, t.Proposal.team_id == team_id),
            "coach_drafts": (t.CoachDraft, t.CoachDraft.team_id == team_id),
            "deliveries": (t.Delivery, t.Delivery.team_id == team_id),
            "drills": (t.Drill, t.Drill.team_id == team_id),
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
        out["coach_drafts"] = [_row(d) for d in self.s.scalars(select(t.CoachDraft).where(f["coach_drafts"][1])
                                                               .order_by(t.CoachDraft.id))]
        out["deliveries"] = [_row(d, ("error",)) for d in self.s.scalars(select(t.Delivery).where(f["deliveries"][1])
                                                                        .order_by(t.Delivery.id))]
        out["crm_links"] = [_row(c) for c in self.s.scalars(select(t.CrmLink).where(f["crm_links"][1])
                                                            .order_by(t.CrmLink.id))]
        out["crm_pushes"] = [_row(c) for c in self.s.scalars(select(t.CrmPush).where(f["crm_pushes"][1])
                                                             .order_by(t.CrmPush.key))]
        out["crm_state"] = [_row(c) for c in self.s.scalars(select(t.CrmState).where(f["crm_state"][1])
                                                            .order_by(t.CrmState.key))]
        out["drills"] = [_row(d) for d in self.s.scalars(select(t.Drill).where(f["drills"][1]).order_by(t.Drill.id))]
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
