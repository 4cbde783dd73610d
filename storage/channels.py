"""Channels the bot is in, and their leaderboard settings, keyed by (team, channel)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from handlers.domain import model as m
from storage import models as t
from storage import rows
from storage.base import TxBase


class ChannelQueries(TxBase):
    def channel(self, channel_id: str) -> m.ChannelSettings | None:
        q = (select(t.Channel).where(t.Channel.id == channel_id, *self._scoped(t.Channel.team_id))
             .order_by(t.Channel.team_id).limit(1))
        row = self.s.scalars(q).first()
        return rows.channel(row) if row else None

    def save_channel(self, ch: m.ChannelSettings) -> m.ChannelSettings:
        ch = ch.replace(team_id=self._team(ch.team_id))
        self.s.merge(t.Channel(**dataclasses.asdict(ch)))
        return ch

    def channels(self) -> list[m.ChannelSettings]:
        q = (select(t.Channel).where(*self._scoped(t.Channel.team_id))
             .order_by(t.Channel.team_id, t.Channel.id))
        return [rows.channel(r) for r in self.s.scalars(q)]
