"""The rule books of this process: the version in force at an instant, on a timeline of the
activated versions (a scheduled one takes over at its instant), each compiled once, ahead of
the requests that use it."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
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
#: Books kept beyond those in force and scheduled, for callers still holding an older instant.
SPARE_BOOKS = 4
#: How long a request waits for the background build of the version it needs before it
#: compiles that version itself.
BUILD_WAIT_SECONDS = 60.0
#: How often the refresher looks at the clock between two reads of the timeline.
GLANCE_SECONDS = 0.05


class RuleBookProvider:
    """Serves the rule book in force at an instant.

    In a serving process (`background`), a thread started on first use (and again in each
    forked worker) reads the timeline of versions every half `rules_refresh_seconds` and
    compiles every version in force or scheduled that it has no book for, before requests
    need it: a version activated elsewhere is used from the moment its book is ready, and a
    scheduled one (at least `rules_refresh_seconds` + 1 s ahead) is ready before its instant,
    so each process switches at that instant exactly. A request reads the timeline itself
    only when the thread has not done so for `rules_refresh_seconds`, and compiles only a
    version it must use that no one has compiled: at the very first start, or when the thread
    is not running. An activation in this process hands over the book it compiled
    (`prepare`). On an empty database the bundled rules are activated."""

    def __init__(self, engine: Engine, settings: Settings, *, background: bool = False) -> None:
        self._engine = engine
        self._settings = settings
        self._background = background and settings.rules_refresh_seconds > 0
        self._books: dict[int, RuleBook] = {}
        self._prepared: dict[tuple[str, str], RuleBook] = {}
        self._rows: Sequence[Any] = ()
        self._timeline: Order | None = None  # every live version, as last read
        self._usable: Order | None = None  # the same without versions not yet compiled
        self._checked_at = -math.inf  # never checked: the next call reads the database
        #: where books were compiled: "request", "background" or "prepared" (an activation)
        self.builds: Counter[str] = Counter()
        self._after_fork()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _call(ref, RuleBookProvider._after_fork))

    def _after_fork(self) -> None:
        """Fresh locks and no refresher: a forked child has only the thread that forked."""
        self._lock = threading.Lock()
        self._building: dict[int, threading.Event] = {}
        self._refresher_pid = 0
        self._wake = threading.Event()

    def current(self) -> RuleBook:
        """The book in force now (the wall clock); callers with a service clock use `at`."""
        return self.at(utcnow())

    def at(self, instant: datetime, conn: Connection | None = None) -> RuleBook:
        """The book of the version in force at `instant`, from a timeline at most
        `rules_refresh_seconds` old. Inside a unit of work, pass its connection: what must be
        read is read with it, so a request never holds one pooled connection while waiting
        for another."""
        usable = self._usable_timeline(conn)
        version = usable.in_force(instant)
        if version is None:
            raise NoActiveRules("no rules have been activated")
        book = self._books.get(version)
        if book is None:  # the first start, or a scheduled version due before it was built
            book = self._needed(version, conn)
        return book

    def timeline(self, conn: Connection | None = None) -> Order:
        """The timeline of versions as this process uses it: at most `rules_refresh_seconds`
        old, without versions activated elsewhere whose book is not ready yet."""
        return self._usable_timeline(conn)

    def invalidate(self) -> None:
        """Read the timeline again on the next call (an activation in this process)."""
        self._checked_at = -math.inf
        self._wake.set()

    def prepare(self, files: Mapping[str, str], version: str) -> RuleBook:
        """Compile `files` as `version` for an activation; the book is used when that version
        is read from the database with the same content, instead of compiling it again."""
        key = (version, rule_engine.rules_content_hash(files))
        with self._lock:
            book = self._prepared.get(key)
        if book is None:
            book = rule_engine.build_rulebook(dict(files), version)
            self.builds["prepared"] += 1
            with self._lock:
                self._prepared[key] = book
                while len(self._prepared) > SPARE_BOOKS:
                    self._prepared.pop(next(iter(self._prepared)))
        return book

    def prepared(self, files: Mapping[str, str], book: RuleBook) -> None:
        """Keep a book compiled elsewhere from `files` (as `book.version`), as `prepare` does."""
        with self._lock:
            self._prepared[(book.version, rule_engine.rules_content_hash(files))] = book

    @property
    def refreshing_here(self) -> bool:
        """Whether this process runs a refresher (started with the first use in it)."""
        return self._refresher_pid == os.getpid()

    @property
    def compiled_versions(self) -> frozenset[int]:
        """The versions this process has a book for."""
        return frozenset(self._books)

    def build(self, files: dict[str, str], version: str) -> RuleBook:
        return rule_engine.build_rulebook(files, version)

    # reading the timeline

    def _usable_timeline(self, conn: Connection | None) -> Order:
        self._ensure_refresher()
        usable = self._usable
        fresh = time.monotonic() - self._checked_at < self._settings.rules_refresh_seconds
        if usable is not None and fresh:
            return usable
        self._refresh(conn, background=False)
        assert self._usable is not None
        return self._usable

    def _refresh(self, conn: Connection | None, *, background: bool) -> None:
        """Read the timeline; compile what is in force or scheduled and has no book yet (on a
        request, only when no thread does it: the version a request needs is compiled by
        `_needed`)."""
        started = time.monotonic()  # what is committed before this read is seen by it
        rows = self._read(conn, lambda repo: repo.rule_timeline())
        if not rows:
            if conn is not None or background:
                raise NoActiveRules("no rules have been activated")
            bootstrap(self._engine, self._settings, prepare=self.prepare)
            rows = self._read(None, lambda repo: repo.rule_timeline())
            if not rows:
                raise NoActiveRules("no rules have been activated")
        timeline, wanted = _wanted(rows)
        with self._lock:
            self._adopt_prepared(rows)
            if started >= self._checked_at:
                self._rows, self._timeline, self._checked_at = rows, timeline, started
                self._usable = self._usable_of(rows, timeline)
        missing = sorted(wanted - set(self._books))
        if missing and (background or not self._background):
            where = "background" if background else "request"
            for version in missing:
                self._build(version, conn, where)
        elif missing:
            self._wake.set()
        self._prune(wanted)

    def _adopt_prepared(self, rows: Sequence[Any]) -> None:
        """Take the books activations in this process compiled for these versions (under the
        lock)."""
        for row in rows:
            book = self._prepared.pop((str(row.version), row.content_hash), None)
            if book is not None and row.version not in self._books:
                self._books[row.version] = book

    def _usable_of(self, rows: Sequence[Any], timeline: Order) -> Order:
        """The timeline without the versions activated (not scheduled) that have no book yet,
        as long as some other version has one: such a version is in force from the moment
        this process has compiled it. The first live version stays whatever is built: without
        it, a scheduled version would become the first, in force from the beginning of time."""
        if not self._books:
            return timeline
        live = [r.version for r in rows if r.cancelled_at is None]
        first = min(live) if live else None
        unbuilt = {r.version for r in rows if r.version not in self._books
                   and r.version not in timeline.scheduled and r.version != first}
        if not unbuilt:
            return timeline
        return Order.of([r for r in rows if r.version not in unbuilt])

    def _prune(self, wanted: set[int]) -> None:
        with self._lock:
            spare = sorted(set(self._books) - wanted)
            for version in spare[:-SPARE_BOOKS] if len(spare) > SPARE_BOOKS else ():
                del self._books[version]

    # compiling

    def _needed(self, version: int, conn: Connection | None) -> RuleBook:
        """The book of a version a caller must use now: waited for if the thread is compiling
        it, else compiled here."""
        with self._lock:
            building = self._building.get(version)
        if building is not None:
            building.wait(BUILD_WAIT_SECONDS)
        book = self._books.get(version)
        return book if book is not None else self._build(version, conn, "request")

    def _build(self, version: int, conn: Connection | None, where: str) -> RuleBook:
        """Compile one version once; a second caller waits for the first."""
        with self._lock:
            book = self._books.get(version)
            if book is not None:
                return book
            building = self._building.get(version)
            mine = building is None
            if mine:
                building = self._building[version] = threading.Event()
        assert building is not None
        if not mine:
            building.wait(BUILD_WAIT_SECONDS)
            book = self._books.get(version)
            if book is not None:
                return book
        try:
            files = self._read(conn, lambda repo: _files(repo, version))
            book = self._compiled(files, version, where)
            with self._lock:
                self._books[version] = book
                if self._timeline is not None:
                    self._usable = self._usable_of(self._rows, self._timeline)
            return book
        finally:
            if mine:
                with self._lock:
                    self._building.pop(version, None)
                building.set()

    def _compiled(self, files: dict[str, str], version: int, where: str) -> RuleBook:
        key = (str(version), rule_engine.rules_content_hash(files))
        with self._lock:
            prepared = self._prepared.pop(key, None)
        if prepared is not None:
            return prepared
        log.info("compiling rules version %s (%s)", version, where)
        book = rule_engine.build_rulebook(files, str(version), stored=True)
        warm = getattr(book, "warm", None)
        if warm is not None and where == "background":
            warm()  # the engine registers its rulesets now, not in the first request
        self.builds[where] += 1
        return book

    # the thread

    def _ensure_refresher(self) -> None:
        if not self._background or self._refresher_pid == os.getpid():
            return
        with self._lock:
            if self._refresher_pid == os.getpid():
                return
            self._refresher_pid = os.getpid()
            period = self._settings.rules_refresh_seconds / 2
            threading.Thread(target=_refresh_loop, args=(weakref.ref(self), period),
                             name="rules-refresher", daemon=True).start()

    def _read(self, conn: Connection | None, what: Callable[[ProgrammeRepository], T]) -> T:
        if conn is not None:  # a unit of work's: read committed, or SQLite's writer
            return what(ProgrammeRepository(conn))
        with self._engine.connect().execution_options(read_only=True) as own:
            found = what(ProgrammeRepository(own))
            own.rollback()
        return found


def _refresh_loop(ref: weakref.ref[RuleBookProvider], period: float) -> None:
    """Refresh every `period` seconds of the module's clock (at once when woken) until the
    provider is gone; between two looks it only glances at the clock."""
    retry_at = -math.inf  # after a failed look, the next one waits a period
    failing = False  # one warning when looking starts to fail, one line when it works again
    while True:
        provider = ref()
        if provider is None:
            return
        wake = provider._wake
        del provider  # the thread must not keep it alive while it waits
        woken = wake.wait(min(period, GLANCE_SECONDS))
        provider = ref()
        if provider is None:
            return
        due = max(provider._checked_at + period, retry_at)  # a request may have looked since
        if woken or time.monotonic() >= due:
            wake.clear()
            try:
                provider._refresh(None, background=True)
            except NoActiveRules:
                pass  # an empty database: the first request activates the bundled rules
            except Exception as error:  # the database is away: requests read it themselves
                (log.debug if failing else log.warning)("rules refresh failed: %s", error)
                failing, retry_at = True, time.monotonic() + period
            else:
                if failing:
                    log.info("rules refresh works again")
                failing = False
        del provider


def _call(ref: weakref.ref[RuleBookProvider], method: Callable[[RuleBookProvider], None]) -> None:
    provider = ref()
    if provider is not None:
        method(provider)


def _wanted(rows: Sequence[Any]) -> tuple[Order, set[int]]:
    """The timeline, and the versions to have built: in force now and scheduled."""
    timeline = Order.of(rows)
    now = utcnow()
    wanted = {v for v in (timeline.in_force(now),) if v is not None}
    wanted |= {version for _, version in timeline.upcoming(now)}
    return timeline, wanted


def _files(repo: ProgrammeRepository, version: int) -> dict[str, str]:
    row = repo.rule_version(version)
    if row is None:
        raise NoActiveRules(f"rules version {version} is not stored")
    return dict(row.files)
