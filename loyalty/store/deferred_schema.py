"""The schema of a serving process's database, made sure of once the database answers: a
process starts while the database is away and catches up when it returns."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from loyalty.store.migrate import ensure_schema
from loyalty.store.outage import DatabaseUnavailable, describe, is_unavailable

log = logging.getLogger(__name__)

#: Seconds between two tries while the database is away; requests in between are answered
#: at once instead of each waiting on the database.
RETRY_SECONDS = 1.0


class DeferredSchema:
    """Creates the schema when the database has none (`ensure_schema`), tried when the app
    is built and, if the database was away then, again on later requests until it answers.
    `enabled` False (no automatic migration) leaves the schema to the operator."""

    def __init__(self, engine: Engine, *, enabled: bool = True,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self._engine = engine
        self._retry_seconds = retry_seconds
        self._settled = not enabled
        self._lock = threading.Lock()
        self._next_try = 0.0
        self._last_error: BaseException | None = None

    @property
    def settled(self) -> bool:
        """Whether the schema has been made sure of (or is not ours to make)."""
        return self._settled

    def try_now(self) -> bool:
        """Make sure of the schema now; False (logged) when the database is away."""
        try:
            self.ensure()
        except DatabaseUnavailable as error:
            log.warning("the database is not available; the service starts without it and "
                        "answers 503 until it is: %s", error)
            return False
        return True

    def ensure(self) -> None:
        """Return once the schema exists; raise `DatabaseUnavailable` while the database is
        away (without asking it again before the retry interval has passed)."""
        if self._settled:
            return
        if not self._lock.acquire(blocking=False):  # another thread is asking the database
            raise DatabaseUnavailable("the database is being tried; not answering yet")
        try:
            if self._settled:
                return
            if time.monotonic() < self._next_try:
                raise DatabaseUnavailable(f"not reachable a moment ago: {self._reason()}")
            try:
                ensure_schema(self._engine)
            except (SQLAlchemyError, DatabaseUnavailable) as error:
                if not is_unavailable(error):
                    raise
                self._last_error = error
                self._next_try = time.monotonic() + self._retry_seconds
                raise DatabaseUnavailable(self._reason()) from error
            if self._last_error is not None:
                log.info("the database is available again: the service carries on")
            self._settled = True
        finally:
            self._lock.release()

    def _reason(self) -> str:
        return "unknown" if self._last_error is None else describe(self._last_error)
