"""The workspaces hardno serves: one row per Slack team (its Grid org, name, zone and threshold overrides)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, union, update

from storage import models as t
from storage.base import TxBase, rowcount


@dataclass(frozen=True)
class WorkspaceInfo:
    team_id: str
    enterprise_id: str | None = None
    name: str | None = None


class WorkspaceQueries(TxBase):
    def save_workspace(self, *, enterprise_id: str | None = None, name: str | None = None) -> WorkspaceInfo:
        """Record (or update) this transaction's workspace, e.g. on install; what is not given is kept."""
        team = self._team()
        row = self.s.get(t.Workspace, team) or t.Workspace(team_id=team)
        if enterprise_id is not None:
            row.enterprise_id = enterprise_id
        if name is not None:
            row.name = name[:200]
        self.s.add(row)
        return WorkspaceInfo(team, row.enterprise_id, row.name)

    def workspace(self) -> WorkspaceInfo | None:
        row = self.s.get(t.Workspace, self._team())
        return WorkspaceInfo(row.team_id, row.enterprise_id, row.name) if row else None

    def team_ids(self) -> list[str]:
        """Every team id any rep, channel or workspace row names (scoped: this one's, if it has rows)."""
        q = union(select(t.Rep.team_id).where(*self._scoped(t.Rep.team_id)),
                  select(t.Channel.team_id).where(*self._scoped(t.Channel.team_id)),
                  select(t.Workspace.team_id).where(*self._scoped(t.Workspace.team_id)))
        return sorted(team for team in self.s.scalars(q) if team)

    def adopt_rows_without_team(self) -> int:
        """Give this transaction's workspace every row whose team was never known (""): a single-token
        database from before workspaces, upgraded with no team on record anywhere. How many rows."""
        team, moved = self._team(), 0
        for model in (t.Rep, t.Channel, t.Deal, t.Proposal, t.Delivery, t.CrmLink, t.CrmState):
            column = model.__table__.c.team_id
            moved += rowcount(self.s.execute(update(model).where(column == "").values(team_id=team)))
        return moved

    def workspaces(self) -> list[WorkspaceInfo]:
        """Every workspace with a row (scoped: just this one), in team order."""
        q = select(t.Workspace).where(*self._scoped(t.Workspace.team_id)).order_by(t.Workspace.team_id)
        return [WorkspaceInfo(r.team_id, r.enterprise_id, r.name) for r in self.s.scalars(q)]
