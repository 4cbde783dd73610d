"""The store, and `Tx`: one transaction, i.e. one user action, with every query on it.

The queries live in modules named for what they are about (`storage.reps`, `storage.deals`,
`storage.channels`, `storage.events`, `storage.proposals`, shared helpers in `storage.base`, row mapping
in `storage.rows`); `Tx` composes them, so callers only ever see `tx.<intention-revealing name>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from storage.base import advisory_key
from storage.boards import BoardQueries
from storage.channels import ChannelQueries
from storage.coaching import CoachingQueries
from storage.crm import CrmQueries
from storage.db import connect
from storage.deals import DealQueries
from storage.deliveries import DeliveryQueries
from storage.events import EventQueries
from storage.planning import PlanningQueries
from storage.privacy import PrivacyQueries
from storage.proposals import ProposalQueries
from storage.reps import RepQueries


class Store:
    """The database behind hardno. Thread-safe: each `tx()` has its own session."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._reads = sessionmaker(engine.execution_options(hardno_read_only=True), expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(connect(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._sessions.begin() as session:
            yield Tx(session)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A transaction that only reads, for long ones like the morning plan: on SQLite it takes no write
        lock (WAL readers never block the writer, so clicks and claims go on meanwhile); on PostgreSQL it is
        READ ONLY, so a write slipped in by mistake fails loudly."""
        with self._reads.begin() as session:
            if self.dialect == "postgresql":
                session.execute(text("SET TRANSACTION READ ONLY"))
            yield Tx(session)

    @contextmanager
    def serialized(self, name: str, patience: float = 30.0) -> Iterator[None]:
        """One holder of `name` at a time across every process on this database; the others queue in the
        order they asked (PostgreSQL's advisory lock, on a connection of its own, so no transaction stays
        open meanwhile). After `patience` seconds a waiter goes ahead without it. SQLite is one host: the
        caller's own in-process order is all there is."""
        if self.dialect != "postgresql":
            yield
            return
        key = advisory_key(name)
        with self.engine.connect() as conn:
            conn.execute(text("SELECT set_config('lock_timeout', :t, false)"), {"t": f"{int(patience * 1000)}ms"})
            try:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
                got = True
            except OperationalError:  # lock_timeout: the holder is stuck; go ahead (a rollback undoes the SET)
                got = False
                conn.rollback()
            conn.commit()
            try:
                yield
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.execute(text("RESET lock_timeout"))  # the connection goes back to the pool as it came
                conn.commit()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


class Tx(DeliveryQueries, BoardQueries, PlanningQueries, RepQueries, DealQueries, ChannelQueries, EventQueries,
         ProposalQueries, CrmQueries, PrivacyQueries, CoachingQueries):
    """One transaction: every group of queries, on one session (see `storage.base.TxBase`). Scheduled
    deliveries, the leaderboard's reads and the digest's planning scan are `storage.deliveries`,
    `storage.boards` and `storage.planning`."""
