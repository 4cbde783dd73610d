"""Slack event ids already handled, so a retried delivery has its effect once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from storage import models as t
from storage.base import TxBase, rowcount


class EventQueries(TxBase):
    def first_delivery_of_event(self, event_id: str, now: datetime) -> bool:
        """Claim `event_id`; False when it was handled already (a retry of a delivered event)."""
        return self._insert_once(t.SlackEvent, {"event_id": event_id, "received_at": now})

    def forget_events_before(self, cutoff: datetime) -> int:
        return rowcount(self.s.execute(delete(t.SlackEvent).where(t.SlackEvent.received_at < cutoff)))
