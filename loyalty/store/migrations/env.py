"""Alembic environment: the engine comes from loyalty.store.migrate, the schema from tables."""

from __future__ import annotations

from alembic import context

from loyalty.store.tables import metadata

engine = context.config.attributes["engine"]

sqlite = engine.dialect.name == "sqlite"

with engine.connect() as connection:
    raw = connection.connection.driver_connection
    if sqlite:
        # SQLite alters a table by copying it under a new name; with foreign keys enforced,
        # dropping the old table fails while other tables refer to it. The switch only takes
        # effect outside a transaction, so it is set on the driver's connection before the
        # migrations' transaction begins, and set back once it is over.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if sqlite:
            connection.commit()
            raw.execute("PRAGMA foreign_keys=ON")
