"""Alembic environment: runs on the connection storage.db.upgrade holds (with its lock), or on a connection
of the engine it was handed."""

from contextlib import nullcontext

from alembic import context

from storage.models import Base

given = context.config.attributes.get("connection")
with nullcontext(given) if given is not None else context.config.attributes["engine"].connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
