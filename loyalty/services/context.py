"""What every use case needs: settings, the database, the active rules and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from loyalty.config import Settings
from loyalty.store.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from loyalty.services.rulebooks import RuleBookProvider


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    """The dependencies use cases take; built once per app by `create_app` or the CLI."""

    settings: Settings
    engine: Engine
    rules: RuleBookProvider
    clock: Callable[[], datetime] = field(default=utcnow)

    def uow(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, read_only=read_only)


@dataclass(frozen=True)
class Recorded:
    """The outcome of an idempotent write: the HTTP status and body, first time or replayed."""

    status: int
    body: dict
    replayed: bool = False
