"""The active rule book of this process: the newest activated version, rebuilt when it changes."""

from __future__ import annotations

import logging
import math
import threading
import time

from sqlalchemy import Engine

from loyalty import engine as rule_engine
from loyalty.config import Settings
from loyalty.domain.decisions import RuleBook
from loyalty.domain.errors import NoActiveRules
from loyalty.services.versions import bootstrap
from loyalty.store.repositories import ProgrammeRepository

log = logging.getLogger(__name__)


class RuleBookProvider:
    """Serves the rule book of the newest activated version, checking for a newer one at most
    every `rules_refresh_seconds`; on an empty database it activates the bundled rules."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._lock = threading.Lock()
        self._book: RuleBook | None = None
        self._checked_at = -math.inf  # never checked: the next call reads the database

    def current(self) -> RuleBook:
        book = self._book
        fresh = time.monotonic() - self._checked_at < self._settings.rules_refresh_seconds
        if book is not None and fresh:
            return book
        with self._lock:
            return self._refresh()

    def invalidate(self) -> None:
        self._checked_at = -math.inf  # never checked: the next call reads the database

    def build(self, files: dict[str, str], version: str) -> RuleBook:
        return rule_engine.build_rulebook(files, version)

    def _refresh(self) -> RuleBook:
        with self._engine.connect().execution_options(read_only=True) as conn:
            repo = ProgrammeRepository(conn)
            latest = repo.latest_rule_version_number()
            if latest is None:
                conn.rollback()
                bootstrap(self._engine, self._settings)
                latest = repo.latest_rule_version_number()
                if latest is None:
                    raise NoActiveRules("no rules have been activated")
            if self._book is None or self._book.version != str(latest):
                row = repo.rule_version(latest)
                assert row is not None
                log.info("loading rules version %s", latest)
                self._book = rule_engine.build_rulebook(dict(row.files), str(latest))
            conn.rollback()
        self._checked_at = time.monotonic()
        return self._book
