"""A workspace's install state: when it uninstalled the app (its data goes HARDNO_UNINSTALL_GRACE_DAYS later)
and when it installed again (which cancels that). A mixin of `Tx`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage import models as t
from storage.base import TxBase


class UninstallQueries(TxBase):
    def workspace_installed(self, team_id: str, name: str | None = None) -> bool:
        """The app is (again) installed in `team_id`: a pending purge is cancelled. True if one was."""
        row = self.s.get(t.Workspace, team_id) or t.Workspace(team_id=team_id)
        pending = row.uninstalled_at is not None
        row.uninstalled_at = None
        if name:
            row.name = name[:200]
        self.s.add(row)
        return pending

    def workspace_uninstalled(self, team_id: str, at: datetime) -> datetime:
        """The app was uninstalled from `team_id` at `at` (a repeated event keeps the first time); that time."""
        row = self.s.get(t.Workspace, team_id) or t.Workspace(team_id=team_id)
        if row.uninstalled_at is None:
            row.uninstalled_at = at
        self.s.add(row)
        return row.uninstalled_at

    def uninstalled_since(self, team_id: str) -> datetime | None:
        row = self.s.get(t.Workspace, team_id)
        return row.uninstalled_at if row else None

    def workspaces_uninstalled_before(self, cutoff: datetime) -> list[str]:
        """The workspaces whose uninstall is at least as old as `cutoff`: their grace is over."""
        q = (select(t.Workspace.team_id).where(t.Workspace.uninstalled_at.is_not(None),
                                               t.Workspace.uninstalled_at <= cutoff).order_by(t.Workspace.team_id))
        return list(self.s.scalars(q))
