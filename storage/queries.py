"""The store, and `Tx`: one transaction, i.e. one user action, with every query on it.

The queries live in modules named for what they are about (`storage.reps`, `storage.deals`,
`storage.channels`, `storage.events`, `storage.proposals`, `storage.practice`, shared helpers in `storage.base`, row mapping
in `storage.rows`); `Tx` composes them, so callers only ever see `tx.<intention-revealing name>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from storage.base import AmbiguousWorkspace, advisory_key
from storage.boards import BoardQueries
from storage.channels import ChannelQueries
from storage.coaching import CoachingQueries
from storage.crm import CrmQueries
from storage.db import connect
from storage.deals import DealQueries
from storage.deliveries import DeliveryQueries
from storage.events import EventQueries
from storage.planning import PlanningQueries
from storage.practice import PracticeQueries
from storage.privacy import PrivacyQueries
from storage.proposals import ProposalQueries
from storage.reps import RepQueries
from storage.uninstalls import UninstallQueries
from storage.workspaces import WorkspaceQueries


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
    def tx(self, team: str | None = None) -> Iterator[Tx]:
        """One transaction, bound to the workspace `team`: it sees and writes that workspace's rows only.
        Without a team it is bound to every workspace (the sweeps' and admin commands' reads; see TxBase)."""
        with self._sessions.begin() as session:
            yield Tx(session, team)

    @contextmanager
    def read(self, team: str | None = None) -> Iterator[Tx]:
        """A transaction that only reads, for long ones like the morning plan: on SQLite it takes no write
        lock (WAL readers never block the writer, so clicks and claims go on meanwhile); on PostgreSQL it is
        READ ONLY, so a write slipped in by mistake fails loudly. Bound to `team` as `tx` is."""
        with self._reads.begin() as session:
            if self.dialect == "postgresql":
                session.execute(text("SET TRANSACTION READ ONLY"))
            yield Tx(session, team)

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

    def only_workspace(self) -> str:
        """The team id of the one workspace this database holds ("" when it holds none yet): where the
        single-workspace tools (`hardno import`, the HubSpot sync) write when not told. AmbiguousWorkspace
        when it holds several."""
        with self.read() as tx:
            teams = tx.team_ids()
        if len(teams) > 1:
            raise AmbiguousWorkspace(f"this database holds {len(teams)} workspaces ({', '.join(teams[:5])}): "
                                     "say which one")
        return teams[0] if teams else ""

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
         ProposalQueries, CrmQueries, PrivacyQueries, WorkspaceQueries, UninstallQueries, PracticeQueries,
         CoachingQueries):
    """One transaction: every group of queries, on one session (see `storage.base.TxBase`). Scheduled
    deliveries, the leaderboard's reads and the digest's planning scan are `storage.deliveries`,
    `storage.boards` and `storage.planning`."""
