"""Which database errors mean "try again shortly" (503) and which are mistakes (500)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pg
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from loyalty.store.outage import DatabaseUnavailable, is_unavailable


def _sqlite_error(path: Path, sql: str, *, read_only: bool = False) -> sqlite3.Error:
    conn = sqlite3.connect(f"{path.as_uri()}{'?mode=ro' if read_only else ''}", uri=True)
    try:
        conn.execute(sql)
    except sqlite3.Error as error:
        return error
    finally:
        conn.close()
    raise AssertionError(f"{sql} did not fail")


def _wrapped(orig: Exception) -> DBAPIError:
    return DBAPIError.instance("SELECT 1", {}, orig, psycopg.Error)


@pytest.mark.parametrize("orig", [
    pg.QueryCanceled("canceling statement due to statement timeout"),
    pg.AdminShutdown("terminating connection due to administrator command"),
    pg.CannotConnectNow("the database system is starting up"),
    pg.TooManyConnections("sorry, too many clients already"),
    pg.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"),
    pg.SerializationFailure("could not serialize access"),
    psycopg.OperationalError("server closed the connection unexpectedly"),
    psycopg.OperationalError("the database did not answer within 12 s"),
], ids=lambda error: type(error).__name__)
def test_a_database_away_hung_or_busy_is_an_outage(orig: Exception) -> None:
    assert is_unavailable(_wrapped(orig))


@pytest.mark.parametrize("orig", [
    pg.UndefinedTable('relation "members" does not exist'),
    pg.SyntaxError("syntax error at or near"),
    pg.NumericValueOutOfRange("integer out of range"),
    pg.UniqueViolation("duplicate key value violates unique constraint"),
], ids=lambda error: type(error).__name__)
def test_a_mistake_in_a_statement_is_not_an_outage(orig: Exception) -> None:
    assert not is_unavailable(_wrapped(orig))


def test_a_read_only_or_locked_sqlite_file_is_an_outage_and_a_missing_table_is_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    read_only = _sqlite_error(path, "INSERT INTO t VALUES (1)", read_only=True)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    locked = sqlite3.connect(path, timeout=0).execute
    with pytest.raises(sqlite3.OperationalError) as busy:
        locked("INSERT INTO t VALUES (2)")
    holder.execute("ROLLBACK")
    holder.close()
    missing = _sqlite_error(path, "SELECT * FROM nowhere")
    assert is_unavailable(OperationalError("INSERT", {}, read_only))
    assert is_unavailable(OperationalError("INSERT", {}, busy.value))
    assert not is_unavailable(OperationalError("SELECT", {}, missing))


def test_a_full_pool_and_an_unopenable_lock_file_are_outages_and_other_errors_are_not(
) -> None:
    assert is_unavailable(PoolTimeout("QueuePool limit of size 5 overflow 5 reached"))
    assert is_unavailable(DatabaseUnavailable("cannot open loyalty.db.writers"))
    assert not is_unavailable(ValueError("not a database error"))
    assert not is_unavailable(ProgrammingError("SELECT", {}, pg.SyntaxError("x")))
