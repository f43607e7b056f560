"""Alembic environment: the engine comes from loyalty.store.migrate, the schema from tables."""

from __future__ import annotations

from alembic import context

from loyalty.store.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
