"""Migrations on a fresh SQLite file and a fresh PostgreSQL database: they build exactly the models' schema,
and nobody can change a model without a migration (autogenerate must find nothing to do)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Index, Integer, MetaData, String, inspect

from storage.db import alembic_config, connect, upgrade
from storage.models import Base
from tests.backends import create_pg_database
from tests.serving import env_for

VERSION_TABLE = "alembic_version"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """An empty database of its own, never migrated."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'migrations.db'}", None
    else:
        url, drop = create_pg_database()
    eng = connect(url)
    yield eng
    eng.dispose()
    if drop:
        drop()


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def differences(engine, metadata: MetaData = Base.metadata) -> list:
    """What `alembic revision --autogenerate` would put in a new migration.

    Nothing is filtered: on both backends the reflected schema compares clean, including column types
    (compare_type) and server defaults. SQLite's loose type affinity would only show up as type diffs if a
    model used a type SQLite reflects differently; UTCDateTime and the Integer variant of the ids already
    compare equal. If such noise ever appears, filter that one (backend, table, column, kind) here, with the
    reason, rather than turning a comparison off. The version table is skipped by Alembic itself.
    """
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(ctx, metadata)


def head() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def current(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_upgrade_creates_exactly_the_models_tables(engine):
    assert tables(engine) == set()
    upgrade(engine)
    assert tables(engine) == set(Base.metadata.tables) | {VERSION_TABLE}
    assert current(engine) == head()
    upgrade(engine)  # idempotent: `hardno serve` runs it on every start
    assert current(engine) == head()


def test_models_and_migrations_agree(engine):
    """Fails when a model changed without a migration (or a migration without the model): run
    `alembic revision --autogenerate` against a migrated database and review what it writes."""
    upgrade(engine)
    assert differences(engine) == []


def test_the_agreement_check_would_catch_a_model_change(engine):
    """Guards the test above against passing vacuously: a new column or index, a longer string and a
    relaxed NOT NULL are all noticed, on both backends."""
    upgrade(engine)
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    deals = changed.tables["deals"]
    deals.append_column(Column("probe", Integer))
    Index("ix_deals_probe", deals.c.probe)
    deals.c.currency.type = String(16)
    deals.c.company.nullable = True
    found = set()
    for diff in differences(engine, changed):
        for d in diff if isinstance(diff, list) else [diff]:  # modify_* come grouped per column
            found.add((d[0], d[3]) if d[0].startswith("modify_") else (d[0], d[-1].name))
    assert found == {("add_column", "probe"), ("add_index", "ix_deals_probe"),
                     ("modify_type", "currency"), ("modify_nullable", "company")}


def test_downgrade_to_base_then_upgrade_again(engine):
    cfg = alembic_config(engine)
    upgrade(engine)
    command.downgrade(cfg, "base")
    assert tables(engine) <= {VERSION_TABLE}
    assert current(engine) is None
    upgrade(engine)
    assert tables(engine) == set(Base.metadata.tables) | {VERSION_TABLE}
    assert current(engine) == head()
    assert differences(engine) == []


def test_every_migration_steps_down_and_up(engine):
    """Each revision, in order: up to it, back down one step, up again (catches a downgrade that
    doesn't undo its upgrade, and an upgrade that can't run twice over its own downgrade)."""
    cfg = alembic_config(engine)
    revisions = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions("base", "heads"))))
    assert revisions, "no migrations found"
    for rev in revisions:
        command.upgrade(cfg, rev.revision)
        command.downgrade(cfg, rev.down_revision or "base")
        command.upgrade(cfg, rev.revision)
        assert current(engine) == rev.revision
    assert current(engine) == head()
    assert differences(engine) == []


def test_upgrade_returns_the_migrations_it_applied(engine):
    everything = [r.revision for r in reversed(list(ScriptDirectory.from_config(alembic_config(None))
                                                    .walk_revisions("base", "heads")))]
    assert upgrade(engine) == everything and everything[-1] == head()
    assert upgrade(engine) == []
    command.downgrade(alembic_config(engine), everything[-2])
    assert upgrade(engine) == everything[-1:]


# -- through the real command line -----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def _db_upgrade(url: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", "db", "upgrade"], cwd=cwd, env=env_for(DATABASE_URL=url),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url, drop = create_pg_database()
    yield url
    drop()


def test_db_upgrade_says_how_many_it_applied_then_that_it_is_current(fresh_url, tmp_path):
    n = len(list(ScriptDirectory.from_config(alembic_config(None)).walk_revisions("base", "heads")))
    outs = []
    for _ in range(2):
        p = _db_upgrade(fresh_url, tmp_path)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "Traceback" not in err, err
        outs.append(out.strip())
    assert outs[0].startswith(f"applied {n} migrations") and "up to date" not in outs[0], outs
    assert outs[1].startswith("database is up to date"), outs


def test_three_hosts_upgrading_a_fresh_database_at_once_all_succeed(fresh_url, tmp_path):
    """A rollout starts `hardno db upgrade` (or `serve`, which upgrades on start) on several hosts together:
    one migrates, the others wait for it, find the database current and exit 0."""
    procs = [_db_upgrade(fresh_url, tmp_path) for _ in range(3)]
    done = [(p.returncode, out.strip(), err) for p in procs for out, err in [p.communicate(timeout=180)]]
    assert [rc for rc, _, _ in done] == [0, 0, 0], [err[-1500:] for _, _, err in done]
    said = sorted(out.split(" (")[0] for _, out, _ in done)
    assert said[0].startswith("applied ") and said[1:] == ["database is up to date"] * 2, said
    eng = connect(fresh_url)
    try:
        assert tables(eng) == set(Base.metadata.tables) | {VERSION_TABLE}
        assert current(eng) == head() and differences(eng) == []
    finally:
        eng.dispose()


def test_three_upgrades_really_waiting_on_the_lock_together_all_succeed(tmp_path):
    """The test above starts its processes one after another; this one proves they meet at the lock: the
    migration lock is held here until all three `hardno db upgrade` processes are waiting for it at once."""
    import time

    import psycopg

    from storage.db import MIGRATION_LOCK
    url, drop = create_pg_database()
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    procs: list[subprocess.Popen] = []
    try:
        with psycopg.connect(libpq, autocommit=True) as holder, psycopg.connect(libpq, autocommit=True) as watch:
            holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            procs = [_db_upgrade(url, tmp_path) for _ in range(3)]
            deadline = time.monotonic() + 120  # a hang guard, not a timing assertion
            waiting = 0
            while waiting < 3:
                waiting = watch.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                        ).fetchone()[0]
                assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
                assert time.monotonic() < deadline, f"only {waiting} of 3 reached the lock"
                time.sleep(0.05)
            holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        done = [(p.returncode, out.strip(), err) for p in procs for out, err in [p.communicate(timeout=180)]]
        assert [rc for rc, _, _ in done] == [0, 0, 0], [err[-1500:] for _, _, err in done]
        said = sorted(out.split(" (")[0] for _, out, _ in done)
        assert said[0].startswith("applied ") and said[1:] == ["database is up to date"] * 2, said
        eng = connect(url)
        try:
            assert current(eng) == head() and differences(eng) == []
        finally:
            eng.dispose()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
        drop()


@pytest.mark.parametrize("url", [
    "mysql://hardno:s3cret@db.example/hardno",  # another database
    "foo://x/y",  # an unknown scheme
    "postgresql+psycopg2://hardno:s3cret@127.0.0.1/hardno",  # a driver that isn't installed
    "sqlite+pysqlcipher:///hardno.db",
    "not a url",
])
def test_an_unusable_database_url_exits_2_with_one_line_naming_it(url, tmp_path):
    p = _db_upgrade(url, tmp_path)
    out, err = p.communicate(timeout=60)
    lines = err.strip().splitlines()
    assert p.returncode == 2 and "Traceback" not in err, (p.returncode, err)
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], err
    assert "s3cret" not in err  # the password stays out of terminals and logs
