"""Test databases: a temporary SQLite file and a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

PG_ADMIN = os.environ.get("HARDNO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def create_pg_database() -> tuple[str, callable]:
    """A fresh database; returns its SQLAlchemy URL and a function that drops it."""
    if not postgres_available():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}")
    name = f"hardno_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]

    def drop():
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}", drop
