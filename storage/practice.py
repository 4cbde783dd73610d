"""Practice drills: saved when the coach plays a brush-off, advanced as the rep answers in the thread.

A mixin of `Tx` (storage.queries). Every query takes the rep's user id and keeps to the transaction's
workspace, so a rep only ever reaches their own drills; `drill_owner` says whose a thread is without showing anything of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from handlers.domain import model as m
from handlers.domain.practice import Drill
from storage import models as t
from storage import rows
from storage.base import TxBase, rowcount

DRILL_FIELDS = [f.name for f in dataclasses.fields(Drill)]


def _drill(row: t.Drill) -> Drill:
    d = rows.to(Drill, row, DRILL_FIELDS)
    return dataclasses.replace(d, turns=tuple(row.turns or ()))


class PracticeQueries(TxBase):
    def save_drill(self, drill: Drill) -> Drill:
        cols = {f: getattr(drill, f) for f in DRILL_FIELDS if f != "id"}
        row = t.Drill(**{**cols, "turns": list(drill.turns), "team_id": self._team(drill.team_id)})
        self.s.add(row)
        self.s.flush()
        return _drill(row)

    def drill_in_thread(self, user_id: str, channel: str, thread_ts: str, *, lock: bool = False) -> Drill | None:
        """The rep's drill whose prospect line is the thread parent `thread_ts` in `channel`. With `lock`, the
        row stays locked to the end of the transaction, so two quick answers advance it one at a time."""
        q = select(t.Drill).where(t.Drill.user_id == user_id, t.Drill.channel == channel,
                                  t.Drill.thread_ts == thread_ts, *self._scoped(t.Drill.team_id))
        row = self.s.scalars(q.with_for_update() if lock else q).first()
        return _drill(row) if row else None

    def drill_owner(self, channel: str, thread_ts: str) -> str | None:
        """Whose drill that thread is (None: not a drill)."""
        return self.s.scalar(select(t.Drill.user_id).where(t.Drill.channel == channel,
                                                           t.Drill.thread_ts == thread_ts,
                                                           *self._scoped(t.Drill.team_id)))

    def advance_drill(self, user_id: str, drill_id: int, *, expect_state: str, state: str,
                      turns: Iterable[Mapping[str, Any]], score: int | None = None,
                      finished_at: datetime | None = None) -> bool:
        """Move the rep's drill on from `expect_state`; False when it had moved already (a retried event)."""
        res = self.s.execute(update(t.Drill).where(
            t.Drill.id == drill_id, t.Drill.user_id == user_id, t.Drill.state == expect_state,
            *self._scoped(t.Drill.team_id))
            .values(state=state, turns=[dict(x) for x in turns], score=score, finished_at=finished_at))
        return rowcount(res) == 1

    def recent_drills(self, user_id: str, limit: int = 5) -> list[Drill]:
        q = (select(t.Drill).where(t.Drill.user_id == user_id, *self._scoped(t.Drill.team_id))
             .order_by(t.Drill.created_at.desc(), t.Drill.id.desc()).limit(limit))
        return [_drill(r) for r in self.s.scalars(q)]

    def drills_by_brushoff(self, user_id: str) -> dict[str, int]:
        """How often the rep has practised each brush-off (any state)."""
        q = (select(t.Drill.brushoff, func.count()).where(t.Drill.user_id == user_id, *self._scoped(t.Drill.team_id))
             .group_by(t.Drill.brushoff))
        return {key: n for key, n in self.s.execute(q)}

    def recent_maybes(self, user_id: str, since: datetime, limit: int = 20) -> list[m.Deal]:
        """The rep's open deals with a maybe (and its note) since `since`, latest first."""
        q = (select(t.Deal).where(t.Deal.owner_id == user_id, *self._scoped(t.Deal.team_id),
                                  t.Deal.status == m.Status.OPEN.value,
                                  t.Deal.last_maybe_at >= since, t.Deal.last_maybe_note.is_not(None))
             .order_by(t.Deal.last_maybe_at.desc(), t.Deal.id.desc()).limit(limit))
        return [rows.deal(r) for r in self.s.scalars(q)]
