"""Engines and migrations for SQLite (embedded default) and PostgreSQL (teams)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """The database can't be used; the message says what to fix."""


def connect(url: str) -> Engine:
    """An engine for `url`, tuned so concurrent listeners never see "database is locked"."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"DATABASE_URL {url!r} is not a database URL (e.g. sqlite:///hardno.db)") from None
    if parsed.drivername == "postgresql":  # plain postgresql:// would pick psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite(parsed)
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    except NoSuchModuleError:
        raise DatabaseError(f"DATABASE_URL {url!r}: no driver for {parsed.drivername}") from None


def _sqlite(url) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        # Take over transaction control from pysqlite so we can BEGIN IMMEDIATE below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A deferred transaction that reads then writes fails at once with SQLITE_BUSY
        # instead of waiting; taking the write lock up front makes writers queue politely.
        # Store.read() transactions never write, so they take no lock and block nobody.
        read_only = conn.get_execution_options().get("hardno_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration (idempotent)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as e:
        raise DatabaseError(f"can't reach the database at {engine.url.render_as_string()}: "
                            f"{str(e.orig).strip().splitlines()[0]}") from None
    command.upgrade(alembic_config(engine), "head")
