"""An instant as whole seconds since 1970-01-01 UTC, in SQL, on PostgreSQL and SQLite alike:
for counting the days between a stored instant and another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

DAY_SECONDS = 86_400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class epoch_seconds(FunctionElement[int]):
    """A stored instant (a `UTCDateTime` column) in whole seconds since 1970-01-01 UTC."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_seconds(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # SQLite keeps instants as UTC text ('2026-01-01 10:00:00.000000'); %s reads it in whole
    # seconds
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def seconds_of(instant: datetime) -> int:
    """An aware instant in whole seconds since 1970-01-01 UTC, as `epoch_seconds` counts."""
    return (instant - EPOCH) // timedelta(seconds=1)
