"""One advisory-lock key function for every hardno lock (storage.base.advisory_key), hashed."""

from __future__ import annotations

import pytest

from storage.deliveries import sweep_lock


@pytest.fixture
def pg_store(store):
    if store.dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serves one host")
    return store


def test_names_sharing_a_prefix_are_different_locks(pg_store):
    """The old key was the name's first 8 bytes: "digest-sweep" and "digest-sweep-2" were one lock."""
    with sweep_lock(pg_store, "digest-sweep") as first:
        with sweep_lock(pg_store, "digest-sweep-2") as second:
            assert first and second
        with sweep_lock(pg_store, "digest-sweep") as again:  # the same name still conflicts
            assert not again


def test_serialized_and_the_sweep_lock_share_one_key(pg_store):
    """`Store.serialized` and `sweep_lock` (and `Tx.try_lock`) key a name the same way."""
    with pg_store.serialized("boards"):
        with sweep_lock(pg_store, "boards") as mine:
            assert not mine
        with pg_store.tx() as tx:
            assert not tx.try_lock("boards")
    with sweep_lock(pg_store, "boards") as mine:
        assert mine
