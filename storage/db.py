"""Engines and migrations for SQLite (embedded default) and PostgreSQL (teams)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

MIGRATIONS = Path(__file__).parent / "migrations"
BACKENDS = ("sqlite", "postgresql")
EXAMPLES = "sqlite:///hardno.db or postgresql://user@host/dbname"
# pg_advisory_lock's key for "migrating": any fixed bigint; every hardno process uses the same one.
MIGRATION_LOCK = int.from_bytes(b"hardnoDB", "big", signed=True)


class DatabaseError(Exception):
    """The database can't be used; the message says what to fix."""


def connect(url: str) -> Engine:
    """An engine for `url`, tuned so concurrent listeners never see "database is locked".

    A URL hardno can't use (not a URL, another database, a driver that isn't installed) raises
    DatabaseError with one line naming DATABASE_URL; the password never appears in it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"DATABASE_URL is not a database URL (use {EXAMPLES})") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername == "postgresql":  # plain postgresql:// would pick psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.drivername.partition("+")[0]
    if backend not in BACKENDS:
        raise DatabaseError(f"DATABASE_URL {shown}: hardno runs on SQLite or PostgreSQL, "
                            f"not {backend!r} (use {EXAMPLES})")
    try:
        if backend == "sqlite":
            return _sqlite(parsed)
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except (NoSuchModuleError, ImportError) as e:
        why = f"the driver {parsed.drivername!r} is not installed or not known"
        if isinstance(e, ImportError) and e.name:
            why += f" (no module {e.name!r})"
        raise DatabaseError(f"DATABASE_URL {shown}: {why}; use {EXAMPLES}, which need nothing more") from None
    except OSError as e:  # the SQLite file's directory can't be made
        raise DatabaseError(f"DATABASE_URL {shown}: can't create {parsed.database}: {e.strerror or e}") from None


def _sqlite(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so we can BEGIN IMMEDIATE below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A deferred transaction that reads then writes fails at once with SQLITE_BUSY
        # instead of waiting; taking the write lock up front makes writers queue politely.
        # Store.read() transactions never write, so they take no lock and block nobody.
        read_only = conn.get_execution_options().get("hardno_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine | None, connection: Connection | None = None) -> Config:
    """Alembic's configuration for our migrations, run on `connection` if given, else on one of `engine`'s."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine) -> list[str]:
    """Apply every migration not applied yet; the revisions applied, oldest first ([] if it was current).

    Safe from several processes at once (hosts rolling out together, `serve` upgrading on start): on
    PostgreSQL they queue on an advisory lock, and each one after the first finds the database current.
    On SQLite, Alembic's transaction begins IMMEDIATE (see `_sqlite`), which queues them the same way."""
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as e:
        raise DatabaseError(f"can't reach the database at DATABASE_URL {engine.url.render_as_string()}: "
                            f"{str(e.orig).strip().splitlines()[0]}") from None
    with engine.connect() as conn:
        locked = conn.dialect.name == "postgresql"
        if locked:  # session-level: held across Alembic's own commits, released below or on disconnect
            conn.execute(text("select pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            conn.commit()
        try:
            before = _revision(conn)
            command.upgrade(alembic_config(engine, conn), "head")
            after = _revision(conn)
        finally:
            if locked:
                conn.rollback()
                conn.execute(text("select pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                conn.commit()
    if after == before:
        return []
    script = ScriptDirectory.from_config(alembic_config(engine))
    return [r.revision for r in reversed(list(script.walk_revisions(before or "base", after or "heads")))
            if r.revision != before]


def _revision(conn: Connection) -> str | None:
    current = MigrationContext.configure(conn).get_current_revision()
    conn.commit()  # end the read's transaction: Alembic begins its own
    return current
