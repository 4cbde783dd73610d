"""Rows to domain types and back.

The direction is deliberate (see handlers/domain/__init__.py): the domain is the core every layer uses,
and storage maps its rows onto the domain's plain dataclasses. Column names match the fields, so the
mapping is by name.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from handlers.domain import model as m
from storage import models as t

DEAL_FIELDS = [f.name for f in dataclasses.fields(m.Deal)]
ACT_FIELDS = [f.name for f in dataclasses.fields(m.Activity)]
REP_FIELDS = [f.name for f in dataclasses.fields(m.Rep)]
CHANNEL_FIELDS = [f.name for f in dataclasses.fields(m.ChannelSettings)]

T = TypeVar("T")


def to(cls: type[T], row: Any, fields: list[str]) -> T:
    return cls(**{f: getattr(row, f) for f in fields})


def rep(row: t.Rep) -> m.Rep:
    return to(m.Rep, row, REP_FIELDS)


def channel(row: t.Channel) -> m.ChannelSettings:
    return to(m.ChannelSettings, row, CHANNEL_FIELDS)


def deal(row: t.Deal) -> m.Deal:
    d = to(m.Deal, row, DEAL_FIELDS)
    return d.replace(status=m.Status(d.status))


def activity(row: t.Activity) -> m.Activity:
    a = to(m.Activity, row, ACT_FIELDS)
    return dataclasses.replace(a, kind=m.Kind(a.kind), source=m.Source(a.source))


def deal_columns(d: m.Deal) -> dict[str, Any]:
    cols = {f: getattr(d, f) for f in DEAL_FIELDS if f != "id" or d.id is not None}
    cols["status"] = m.Status(d.status).value
    return cols


def activity_columns(a: m.Activity) -> dict[str, Any]:
    cols = {f: getattr(a, f) for f in ACT_FIELDS if f != "id" or a.id is not None}
    cols["kind"], cols["source"] = m.Kind(a.kind).value, m.Source(a.source).value
    return cols
