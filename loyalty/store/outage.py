"""When the database is away: which errors mean "try again shortly", and which leave a
connection unfit for use, so that the pool drops it instead of handing it out again."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

#: PostgreSQL error classes that say the server is away, full or shutting down: connection
#: exception (08), insufficient resources (53), operator intervention (57, which includes a
#: statement cancelled by `statement_timeout`), system error (58).
PG_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
#: ... and single states: a read-only standby (after a fail-over), a lock not granted in
#: time, a serialisation failure or deadlock still there after the retries.
PG_UNAVAILABLE_STATES = frozenset({"25006", "55P03", "40001", "40P01"})

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM = 3, 5, 6, 7
SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 8, 10, 13, 14
SQLITE_PROTOCOL = 15
#: A SQLite file that cannot be opened, written, locked or grown for now.
SQLITE_UNAVAILABLE = frozenset({SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM,
                                SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN,
                                SQLITE_PROTOCOL})
#: A SQLite connection opened while its file was read-only or unreachable stays so: it is
#: dropped, and the next one opens the file as it is then.
SQLITE_POISONED = frozenset({SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN})


class DatabaseUnavailable(Exception):
    """The database cannot be reached or written just now; the same request may be tried
    again shortly."""


def _sqlite_code(orig: Any) -> int | None:
    code = getattr(orig, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is away, hung, full or read-only, not that the
    request or the code is wrong."""
    if isinstance(error, DatabaseUnavailable | PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    code = _sqlite_code(orig)
    if code is not None:
        return code in SQLITE_UNAVAILABLE
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return sqlstate in PG_UNAVAILABLE_STATES or sqlstate[:2] in PG_UNAVAILABLE_CLASSES
    # no state from the server: the driver lost or never had a connection
    return isinstance(error, OperationalError | InterfaceError)


def describe(error: BaseException) -> str:
    """A short, password-free account of why the database is unavailable, for the log."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def drop_poisoned_connections(engine: Engine) -> None:
    """Have the pool drop a SQLite connection that failed as read-only or unreachable (it
    would keep failing after the file is fixed); PostgreSQL's driver reports its own."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        code = _sqlite_code(getattr(context, "original_exception", None))
        if code in SQLITE_POISONED and not context.is_disconnect:
            log.info("dropping a SQLite connection after %s", describe(context.sqlalchemy_exception
                                                                    or context.original_exception))
            context.is_disconnect = True
