"""What every group of queries shares: the session of the transaction and a few set-based helpers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, func, insert, inspect, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from storage import models as t


def advisory_key(name: str) -> int:
    """PostgreSQL's advisory-lock key for `name`: the one key function for every hardno lock (the sweeps'
    `sweep_lock`/`try_lock` and `Store.serialized`), hashed so that names sharing a prefix never collide."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class Unscoped(RuntimeError):
    """A write that needs a workspace was made in a transaction bound to none (`store.tx()`, no team)."""


class AmbiguousWorkspace(ValueError):
    """A single-workspace tool was run on a database that holds several, without saying which."""


class CrossWorkspace(ValueError):
    """A row of one workspace was about to be written in a transaction bound to another."""


class TxBase:
    """One transaction (one user action). The query groups (`storage.reps`, `storage.deals`, ...) are
    mixins over this; `storage.queries.Tx` composes them.

    Workspace scoping, the one mechanism: a transaction is bound to one workspace (`store.tx(team)`), and
    every query on it reads and writes that workspace's rows only (`_scoped`, `_team`), whatever ids a
    payload carries. `store.tx()` with no team is bound to every workspace: for the scheduled sweeps' and the
    admin commands' reads across workspaces (their rows carry their team, which the sweeps pass on to the
    bound transactions they write in); a write there needs a row that names its own team."""

    def __init__(self, session: Session, team: str | None = None):
        self.s = session
        self.team = team

    def _scoped(self, *columns: Any) -> list[ColumnElement[bool]]:
        """`column == this workspace` for each team column (none when bound to every workspace)."""
        return [] if self.team is None else [c == self.team for c in columns]

    def _team(self, own: str | None = None) -> str:
        """The team a row written here gets: the bound workspace's (a row naming another one is refused), or
        in an every-workspace transaction the row's own (a rep's, deal's or channel's `team_id`); rows that
        name none (deliveries, proposals, CRM state) can only be written in a bound one."""
        if self.team is None:
            if own is None:
                raise Unscoped("this write needs a workspace: open the transaction with store.tx(team)")
            return own
        if own and own != self.team:
            raise CrossWorkspace(f"a row of workspace {own!r} in a transaction of {self.team!r}")
        return self.team

    @property
    def dialect(self) -> str:
        bind = self.s.get_bind()
        return bind.dialect.name

    def count(self, what: str) -> int:
        table = {"deals": t.Deal, "activities": t.Activity, "reps": t.Rep, "proposals": t.Proposal}[what]
        q = select(func.count()).select_from(table)
        if self.team is not None:
            q = (q.join(t.Deal, t.Deal.id == t.Activity.deal_id).where(t.Deal.team_id == self.team)
                 if table is t.Activity else q.where(table.__table__.c.team_id == self.team))
        return self.s.scalar(q) or 0

    def _insert_once(self, table: type[t.Base], values: dict[str, Any]) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING; True when this call inserted the row."""
        dialect = self.dialect
        stmt: Insert
        if dialect == "postgresql":
            stmt = pg_insert(table).values(**values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
        else:  # pragma: no cover - other backends: plain insert, let the constraint speak
            stmt = insert(table).values(**values)
        # rowcount is unreliable for this statement on some drivers; RETURNING is not.
        key = inspect(table).primary_key[0]
        return self.s.execute(stmt.returning(key)).first() is not None

    def _among(self, column: Any, ids: Iterable[str]) -> ColumnElement[bool]:
        """`column` is one of `ids`, however many, as ONE bound parameter: an array on PostgreSQL, a JSON
        list read by json_each on SQLite (both far from any bound-parameter limit)."""
        ids = sorted(set(ids))
        dialect = self.dialect
        if dialect == "postgresql":
            return column == any_(bindparam(None, ids, type_=ARRAY(String())))
        if dialect == "sqlite":
            each = func.json_each(json.dumps(ids)).table_valued("value")
            return column.in_(select(each.c.value))
        return column.in_(ids)  # pragma: no cover - other backends

    @staticmethod
    def _chunks(ids: Iterable[str], size: int = 500) -> Iterator[list[str]]:
        """Keep IN lists well under every backend's bound-parameter limit (a channel may have thousands)."""
        ids = sorted(set(ids))
        for i in range(0, len(ids), size):
            yield ids[i:i + size]


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (`Session.execute` is typed as returning a plain `Result`)."""
    return int(result.rowcount)
