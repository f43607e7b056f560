"""Liveness and readiness for load balancers and orchestrators: is the process up, and can it
serve (database reachable, schema current, rules active)?"""

from __future__ import annotations

from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from loyalty.domain.errors import LoyaltyError
from loyalty.services.context import ServiceContext
from loyalty.store.migrate import alembic_config, current


def readiness(ctx: ServiceContext) -> tuple[bool, dict[str, Any]]:
    """Whether the service can serve now, with each check's answer."""
    checks: dict[str, Any] = {}
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "reachable"
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        checks["database"] = f"unreachable: {type(cause).__name__}"
        return False, checks
    head = ScriptDirectory.from_config(alembic_config(ctx.engine)).get_current_head()
    at = current(ctx.engine)
    checks["schema"] = "current" if at == head else f"at {at}, {head} expected"
    try:
        version = ctx.book().version
        checks["rules"] = f"version {version} in force"
        rules_ok = True
    except (LoyaltyError, SQLAlchemyError) as error:
        checks["rules"] = f"none in force: {error}"
        rules_ok = False
    return at == head and rules_ok, checks
