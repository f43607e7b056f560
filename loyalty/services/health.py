"""Liveness and readiness for load balancers and orchestrators: is the process up, and can it
serve (database reachable, schema current, rules active)?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from loyalty.domain.errors import LoyaltyError
from loyalty.services.context import ServiceContext
from loyalty.store.migrate import alembic_config, current
from loyalty.store.outage import DatabaseUnavailable, is_unavailable


def readiness(ctx: ServiceContext, ensure_schema: Callable[[], None] | None = None
              ) -> tuple[bool, dict[str, Any]]:
    """Whether the service can serve now, with each check's answer. `ensure_schema` (a
    process that started while the database was away) is tried first: asking is enough for
    the service to catch up once the database returns."""
    checks: dict[str, Any] = {}
    try:
        if ensure_schema is not None:
            ensure_schema()
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "reachable"
        head = ScriptDirectory.from_config(alembic_config(ctx.engine)).get_current_head()
        at = current(ctx.engine)
    except (SQLAlchemyError, DatabaseUnavailable) as error:
        if not is_unavailable(error):
            raise
        return False, {"database": f"unreachable: {_cause(error)}"}
    checks["schema"] = "current" if at == head else f"at {at}, {head} expected"
    try:
        version = ctx.book().version
        checks["rules"] = f"version {version} in force"
        rules_ok = True
    except (LoyaltyError, SQLAlchemyError, DatabaseUnavailable) as error:
        checks["rules"] = f"none in force: {error}" if not is_unavailable(error) else (
            f"not read: the database is unreachable: {_cause(error)}")
        rules_ok = False
    return at == head and rules_ok, checks


def _cause(error: BaseException) -> str:
    """The name of what failed, without text that could name hosts or users."""
    while isinstance(error, DatabaseUnavailable) and error.__cause__ is not None:
        error = error.__cause__
    return type(getattr(error, "orig", None) or error).__name__
