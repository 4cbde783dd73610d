"""Is the database ready to serve: reachable, and at the migrations this code was built for?"""

from __future__ import annotations

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from storage.db import alembic_config


@cache
def _code_heads() -> frozenset[str]:
    # The migration scripts ship with the code: read them once per process.
    return frozenset(ScriptDirectory.from_config(alembic_config(None)).get_heads())


def readiness(engine: Engine) -> tuple[bool, dict[str, object]]:
    """(ready, details): ready when the database answers and its revision is the code's head."""
    try:
        with engine.connect() as conn:
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
    except Exception as e:  # noqa: BLE001 - any failure to reach or read it means "not ready"
        return False, {"database": "down", "error": type(e).__name__}
    expected = _code_heads()
    ok = current == expected
    return ok, {"database": "up", "migrations": "current" if ok else "behind",
                "revision": sorted(current), "expected": sorted(expected)}
