"""Updates read from chat, waiting for the rep's one-click confirmation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from storage import models as t
from storage.base import TxBase, rowcount

# A chat proposal or draft nobody clicked in a month is not coming back; settled ones only served double clicks.
STALE_AFTER = timedelta(days=30)


class ProposalQueries(TxBase):
    def save_proposal(self, user_id: str, payload: dict[str, Any], now: datetime) -> int:
        row = t.Proposal(team_id=self._team(), user_id=user_id, payload=payload, created_at=now)
        self.s.add(row)
        self.s.flush()
        return row.id

    def proposal(self, user_id: str, proposal_id: int) -> tuple[str, dict[str, Any]] | None:
        """(state, payload) of the user's own proposal."""
        if not isinstance(proposal_id, int) or not (0 < proposal_id < 2**63):
            return None
        row = self.s.scalars(select(t.Proposal).where(t.Proposal.id == proposal_id, t.Proposal.user_id == user_id,
                                                        *self._scoped(t.Proposal.team_id))
                             .with_for_update()).first()
        return (row.state, row.payload) if row else None

    def settle_proposal(self, user_id: str, proposal_id: int, state: str) -> bool:
        """Move a pending proposal to `state`; False if it was settled already (a double click)."""
        res = self.s.execute(update(t.Proposal).where(
            t.Proposal.id == proposal_id, t.Proposal.user_id == user_id, *self._scoped(t.Proposal.team_id),
            t.Proposal.state == "pending")
            .values(state=state))
        return rowcount(res) == 1

    def forget_stale_proposals(self, now: datetime) -> int:
        """Delete the proposals older than STALE_AFTER, pending or settled: a click on one later finds nothing
        and is answered as handled already. How many went."""
        cutoff = now - STALE_AFTER
        return rowcount(self.s.execute(delete(t.Proposal).where(t.Proposal.created_at < cutoff,
                                                                      *self._scoped(t.Proposal.team_id))))
