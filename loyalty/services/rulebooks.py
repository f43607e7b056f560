"""The rule books of this process: the version in force at an instant, on a timeline of the
activated versions (a scheduled one takes over at its instant), rebuilt when it changes."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from loyalty import engine as rule_engine
from loyalty.config import Settings
from loyalty.domain.decisions import RuleBook
from loyalty.domain.errors import NoActiveRules
from loyalty.services.context import utcnow
from loyalty.services.versions import Order, bootstrap
from loyalty.store.repositories import ProgrammeRepository

log = logging.getLogger(__name__)

T = TypeVar("T")

class RuleBookProvider:
    """Serves the rule book in force at an instant. It reads the timeline of versions at most
    every `rules_refresh_seconds` and builds the book in force and every scheduled one ahead of
    time, so that each process switches at a scheduled instant exactly, with nothing to read or
    build then. On an empty database it activates the bundled rules."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._lock = threading.Lock()
        self._timeline: Order | None = None
        self._books: dict[int, RuleBook] = {}
        self._checked_at = -math.inf  # never checked: the next call reads the database

    def current(self) -> RuleBook:
        """The book in force now (the wall clock); callers with a service clock use `at`."""
        return self.at(utcnow())

    def at(self, instant: datetime, conn: Connection | None = None) -> RuleBook:
        """The book of the version in force at `instant`, from a timeline at most
        `rules_refresh_seconds` old (the books in force and scheduled are built already).
        Inside a unit of work, pass its connection: what must be read is read with it, so a
        request never holds one pooled connection while waiting for another."""
        timeline = self.timeline(conn)
        version = timeline.in_force(instant)
        if version is None:
            raise NoActiveRules("no rules have been activated")
        book = self._books.get(version)
        if book is None:
            book = self._built(self._read(conn, lambda repo: {version: _files(repo, version)}))[
                version]
        return book

    def timeline(self, conn: Connection | None = None) -> Order:
        """The timeline of versions, read again when older than `rules_refresh_seconds`. No
        lock is held while reading (a lock held while waiting for a pooled connection would
        stop the requests that hold them); only building and swapping in are serialised."""
        timeline = self._timeline
        fresh = time.monotonic() - self._checked_at < self._settings.rules_refresh_seconds
        if timeline is not None and fresh:
            return timeline
        started = time.monotonic()  # what is committed before this read is seen by it
        rows, files = self._read(conn, self._timeline_and_new_files)
        if not rows:
            if conn is not None:
                raise NoActiveRules("no rules have been activated")
            bootstrap(self._engine, self._settings)
            rows, files = self._read(None, self._timeline_and_new_files)
            if not rows:
                raise NoActiveRules("no rules have been activated")
        timeline, wanted = self._wanted(rows)
        self._built(files)
        with self._lock:
            if len(self._books) > len(wanted) + 4:  # keep a few older books for late callers
                for version in sorted(set(self._books) - wanted)[:-4]:
                    del self._books[version]
            if started >= self._checked_at:
                self._timeline = timeline
                self._checked_at = started
        return timeline

    def invalidate(self) -> None:
        self._checked_at = -math.inf  # never checked: the next call reads the database

    def build(self, files: dict[str, str], version: str) -> RuleBook:
        return rule_engine.build_rulebook(files, version)

    @staticmethod
    def _wanted(rows: Sequence[Any]) -> tuple[Order, set[int]]:
        """The timeline, and the versions to have built: in force now and scheduled."""
        timeline = Order.of(rows)
        now = utcnow()
        wanted = {v for v in (timeline.in_force(now),) if v is not None}
        wanted |= {version for _, version in timeline.upcoming(now)}
        return timeline, wanted

    def _timeline_and_new_files(
        self, repo: ProgrammeRepository
    ) -> tuple[Sequence[Any], dict[int, dict[str, str]]]:
        rows = repo.rule_timeline()
        _, wanted = self._wanted(rows)
        return rows, {v: _files(repo, v) for v in sorted(wanted - set(self._books))}

    def _read(self, conn: Connection | None, what: Callable[[ProgrammeRepository], T]) -> T:
        if conn is not None:  # a unit of work's: read committed, or SQLite's writer
            return what(ProgrammeRepository(conn))
        with self._engine.connect().execution_options(read_only=True) as own:
            found = what(ProgrammeRepository(own))
            own.rollback()
        return found

    def _built(self, files: dict[int, dict[str, str]]) -> dict[int, RuleBook]:
        """Books of these versions, each built once (compiling takes the lock, not reading)."""
        books = {}
        for version, texts in files.items():
            with self._lock:
                book = self._books.get(version)
                if book is None:
                    log.info("loading rules version %s", version)
                    book = rule_engine.build_rulebook(texts, str(version))
                    self._books[version] = book
            books[version] = book
        return books


def _files(repo: ProgrammeRepository, version: int) -> dict[str, str]:
    row = repo.rule_version(version)
    if row is None:
        raise NoActiveRules(f"rules version {version} is not stored")
    return dict(row.files)
