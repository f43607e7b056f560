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
    from loyalty.domain.decisions import RuleBook
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

    def book(self, at: datetime | None = None) -> RuleBook:
        """The rules in force at `at` (default: now, by the service clock)."""
        return self.rules.at(self.clock() if at is None else at)

    def deciding(self, uow: SqlUnitOfWork, now: datetime, *,
                 preview: datetime | None = None) -> RuleBook:
        """The rules that decide what is processed at `now`, inside the unit of work `uow`
        (anything to read is read with its connection). The
        timeline of versions is at most `rules_refresh_seconds` old at `now`, and a version is
        scheduled at least that long ahead: each process switches exactly at its instant. A dry
        run (`preview`: the occurrence's instant) is decided by the rules in force then, if
        later: a scheduled campaign previews as it will run."""
        at = now if preview is None or preview < now else preview
        return self.rules.at(at, uow.connection)


@dataclass(frozen=True)
class Recorded:
    """The outcome of an idempotent write: the HTTP status and body, first time or replayed."""

    status: int
    body: dict
    replayed: bool = False
