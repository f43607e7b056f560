"""The unit of work: one database transaction that rolls back unless committed."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from loyalty.domain.errors import WriteConflict
from loyalty.store.db import WriterGate, writer_gate
from loyalty.store.profile import ProfileRepository
from loyalty.store.repositories import (
    HistoryRepository,
    IdempotencyRepository,
    LedgerRepository,
    MemberRepository,
    ProgrammeRepository,
    TransactionRepository,
    WorkflowRepository,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}

#: How often a unique-constraint failure is retried: a concurrent duplicate shows on the next
#: attempt, so one that persists is not a race and is reported instead.
INTEGRITY_RETRIES = 2


class SqlUnitOfWork:
    """`with uow:` opens a transaction (BEGIN IMMEDIATE on SQLite); no commit means rollback."""

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self._conn: Connection | None = None
        self._gate: WriterGate | None = None

    def __enter__(self) -> SqlUnitOfWork:
        if not self.read_only:
            self._gate = writer_gate(self.engine)
            if self._gate is not None:
                self._gate.acquire()
        try:
            conn = self.engine.connect()
            if self.read_only:
                conn = conn.execution_options(read_only=True)
            conn.begin()
        except BaseException:
            self._release_gate()
            raise
        self._conn = conn
        self.members = MemberRepository(conn)
        self.transactions = TransactionRepository(conn)
        self.ledger = LedgerRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.programme = ProgrammeRepository(conn)
        self.history = HistoryRepository(conn)
        self.workflow = WorkflowRepository(conn)
        self.profile = ProfileRepository(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        self._conn = None
        try:
            if conn is not None:
                try:
                    if conn.in_transaction():
                        conn.rollback()
                finally:
                    conn.close()
        finally:
            self._release_gate()

    def _release_gate(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()

    @property
    def connection(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._conn

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()


def is_retryable(error: BaseException) -> bool:
    """Serialisation failures, deadlocks, lock timeouts and a busy SQLite are worth another try
    (a unique-constraint failure is `run_with_retry`'s own case)."""
    if isinstance(error, DBAPIError):
        orig = error.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if sqlstate in RETRYABLE_SQLSTATES:
            return True
        if isinstance(error, OperationalError) and "locked" in str(orig).lower():
            return True
    return False


#: A SQLite lock error that took longer than this came after a full busy wait (another program
#: holds the write lock); a quick one is a passing state such as a recovery, worth another try.
BUSY_WAIT_SECONDS = 1.0


def _waited_for_a_lock(error: DBAPIError, seconds: float) -> bool:
    # PostgreSQL's deadlock report says "blocked by process": a deadlock is retried, not this
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return (isinstance(error, OperationalError) and sqlstate not in RETRYABLE_SQLSTATES
            and "locked" in str(error.orig).lower() and seconds >= BUSY_WAIT_SECONDS)


def run_with_retry(attempt: Callable[[], T], *, retries: int = 8) -> T:
    """Run `attempt` (which opens its own unit of work), again on a retryable database error.

    An IntegrityError is retried too, at most `INTEGRITY_RETRIES` times: a concurrent request
    committed the same idempotency key or unique value first, and the next attempt sees it and
    answers accordingly. One that persists becomes `WriteConflict`.
    """
    integrity_failures = 0
    for number in range(retries + 1):
        started = time.monotonic()
        try:
            return attempt()
        except DBAPIError as error:
            if isinstance(error, IntegrityError):
                integrity_failures += 1
                if integrity_failures > INTEGRITY_RETRIES or number == retries:
                    log.warning("unique constraint still violated after %d attempts: %s",
                                integrity_failures, error.orig)
                    raise WriteConflict(
                        "the request conflicts with data already recorded"
                    ) from error
            elif number == retries or not is_retryable(error):
                raise
            elif _waited_for_a_lock(error, time.monotonic() - started):
                raise  # SQLite waited its whole busy timeout: another wait would not help
            delay = min(0.2, 0.005 * (2**number)) * (0.5 + random.random())
            log.info("retrying after %s (attempt %d)", type(error.orig).__name__, number + 1)
            time.sleep(delay)
    raise AssertionError("unreachable")
