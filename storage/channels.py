"""Channels the bot is in, and their leaderboard settings."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from handlers.domain import model as m
from storage import models as t
from storage import rows
from storage.base import TxBase


class ChannelQueries(TxBase):
    def channel(self, channel_id: str) -> m.ChannelSettings | None:
        row = self.s.get(t.Channel, channel_id)
        return rows.channel(row) if row else None

    def save_channel(self, ch: m.ChannelSettings) -> m.ChannelSettings:
        self.s.merge(t.Channel(**dataclasses.asdict(ch)))
        return ch

    def channels(self) -> list[m.ChannelSettings]:
        return [rows.channel(r) for r in self.s.scalars(select(t.Channel).order_by(t.Channel.id))]
