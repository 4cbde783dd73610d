"""The database: models, migrations and intention-revealing queries.

The only package that imports SQLAlchemy. Callers get a `Store`, open one
transaction per user action with `store.tx()`, and call methods on it.
"""

from storage.db import DatabaseError, connect, upgrade
from storage.queries import Store, Tx

__all__ = ["DatabaseError", "Store", "Tx", "connect", "upgrade"]
