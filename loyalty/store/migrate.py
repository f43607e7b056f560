"""Schema migrations with Alembic, run from the package (no alembic.ini needed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from loyalty.store.db import writer_gate

log = logging.getLogger(__name__)

#: The PostgreSQL advisory lock held while a process creates the schema ("loyalty" in ASCII).
SCHEMA_LOCK = 0x6C6F79616C7479

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (the newest by default)."""
    command.upgrade(alembic_config(engine), revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    # read only: a SQLite file that cannot be written just now can still be read
    with engine.connect().execution_options(read_only=True) as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[None]:
    """One process at a time: an advisory lock on PostgreSQL, the writers' file lock on a
    SQLite file; an in-memory database has only this process."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
                conn.commit()
        return
    gate = writer_gate(engine)
    if gate is None:
        yield
        return
    gate.acquire()
    try:
        yield
    finally:
        gate.release()


def ensure_schema(engine: Engine) -> bool:
    """Create the schema when the database has none yet; True when it did.

    Several processes starting at once (gunicorn workers) take turns under a lock, and each
    looks again once it holds it, so only the first creates the schema. A database with an
    older schema is left for `loyalty db upgrade`.
    """
    if current(engine) is not None:
        return False
    with _schema_lock(engine):
        if current(engine) is not None:
            return False
        log.info("the database has no schema yet: creating it")
        upgrade(engine)
        return True
