"""The coach's drafts as shown to reps: recorded when shown, marked when sent or rated, counted for the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update

from storage import models as t
from storage.base import TxBase, rowcount

RATINGS = ("up", "down")


@dataclass(frozen=True)
class DraftCounts:
    """One line of `hardno coach report`: the drafts of one kind and variant (or model)."""

    kind: str
    variant: str
    shown: int
    sent: int
    up: int
    down: int


class CoachingQueries(TxBase):
    def record_draft_shown(self, *, team_id: str, user_id: str, deal_id: int | None, proposal_id: int, kind: str,
                           tone: str, variant: str, now: datetime) -> int:
        row = t.CoachDraft(team_id=self._team(team_id or None), user_id=user_id, deal_id=deal_id, proposal_id=proposal_id,
                           kind=kind, tone=tone, variant=variant[:100], shown_at=now)
        self.s.add(row)
        self.s.flush()
        return row.id

    def mark_draft_sent(self, user_id: str, proposal_id: int, now: datetime) -> bool:
        """The rep logged this draft as sent (once: a second log changes nothing)."""
        res = self.s.execute(update(t.CoachDraft).where(
            t.CoachDraft.proposal_id == proposal_id, t.CoachDraft.user_id == user_id,
            t.CoachDraft.sent_at.is_(None), *self._scoped(t.CoachDraft.team_id)).values(sent_at=now))
        return rowcount(res) == 1

    def rate_draft(self, user_id: str, proposal_id: int, rating: str, now: datetime) -> bool:
        """The rep's thumbs up or down on their own draft (a later click changes it); False when the draft
        isn't theirs (or is unknown), so someone else's click never counts."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        res = self.s.execute(update(t.CoachDraft).where(
            t.CoachDraft.proposal_id == proposal_id, t.CoachDraft.user_id == user_id,
            *self._scoped(t.CoachDraft.team_id))
            .values(rating=rating, rated_at=now))
        return rowcount(res) == 1

    def draft_rating(self, user_id: str, proposal_id: int) -> str | None:
        return self.s.scalar(select(t.CoachDraft.rating).where(
            t.CoachDraft.proposal_id == proposal_id, t.CoachDraft.user_id == user_id,
            *self._scoped(t.CoachDraft.team_id)))

    def draft_report(self, since: datetime, until: datetime, team_id: str | None = None) -> list[DraftCounts]:
        """Per kind and variant, the drafts shown in [since, until): how many, sent, rated up and down."""
        d = t.CoachDraft
        q = (select(d.kind, d.variant, func.count(),
                    func.count(d.sent_at),
                    func.sum(case((d.rating == "up", 1), else_=0)),
                    func.sum(case((d.rating == "down", 1), else_=0)))
             .where(d.shown_at >= since, d.shown_at < until)
             .group_by(d.kind, d.variant).order_by(d.kind, d.variant))
        if team_id is not None:
            q = q.where(d.team_id == team_id)
        return [DraftCounts(k, v, int(n), int(s or 0), int(u or 0), int(dn or 0))
                for k, v, n, s, u, dn in self.s.execute(q)]
