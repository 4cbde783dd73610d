"""Migrations on a fresh SQLite file and a fresh PostgreSQL database: they build exactly the models' schema,
and nobody can change a model without a migration (autogenerate must find nothing to do)."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Index, Integer, MetaData, String, inspect

from storage.db import alembic_config, connect, upgrade
from storage.models import Base
from tests.backends import create_pg_database

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
