"""Database engines: SQLite made safe for several writers, PostgreSQL as it comes."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)


# With background checkpoints, a request only checkpoints when the WAL has grown this far, which
# happens only if the background thread cannot keep up: the safety net against unbounded growth.
SAFETY_CHECKPOINT_PAGES = 20_000
CHECKPOINT_SECONDS = 1.0

# A checkpoint thread holds this while it is inside SQLite or holds a writer gate; a fork waits
# for it, so no child starts life with a SQLite mutex or a gate held by a thread it lacks
# (gunicorn --preload forks workers from a master that has connected, test runners fork too).
_outside_sqlite = threading.Lock()


def _after_fork_in_child() -> None:
    global _outside_sqlite
    _outside_sqlite = threading.Lock()


os.register_at_fork(before=lambda: _outside_sqlite.acquire(),
                    after_in_parent=lambda: _outside_sqlite.release(),
                    after_in_child=_after_fork_in_child)


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False,
                background_checkpoints: bool = False) -> Engine:
    """Create the engine for `url`; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE writes.

    `background_checkpoints` (for a serving process) moves a SQLite file database's WAL
    checkpoints out of the requests into a thread of their own.
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo, background_checkpoints=background_checkpoints)
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        future=True,
    )


def _sqlite_engine(url: str, *, echo: bool, background_checkpoints: bool) -> Engine:
    memory = url in {"sqlite://", "sqlite:///:memory:"}
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, echo=echo, future=True, **kwargs)
    checkpointer = (
        WalCheckpointer(engine) if background_checkpoints and not memory and engine.url.database
        else None
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if checkpointer is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_CHECKPOINT_PAGES}")
            checkpointer.ensure_running()
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "DEFERRED" if connection.get_execution_options().get("read_only") else "IMMEDIATE"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class WalCheckpointer:
    """Checkpoints a SQLite database's write-ahead log from a background thread.

    By default the commit that takes the WAL past 1,000 pages copies it back into the database
    and syncs the file, inside a request: a purchase writes about fifteen pages, so one request
    in sixty or so paid for a checkpoint, which made SQLite's p99 latency. Here a thread runs a
    PASSIVE checkpoint (it never waits for writers or readers) every `interval` seconds on its
    own connection, with the GIL released while SQLite works. Each process that serves starts
    one with its first connection (a forked worker starts its own), but only the one holding
    the lock file beside the database (`<db>.checkpointer`) works, so several workers do not
    copy and sync the same pages; when it exits, another takes over. A thread ends when its
    engine is garbage-collected.
    """

    def __init__(self, engine: Engine, interval: float | None = None) -> None:
        self._engine = weakref.ref(engine)
        self._path = os.path.abspath(str(engine.url.database))
        gate = writer_gate(engine)
        assert gate is not None  # a SQLite file database has one
        self._gate = gate
        self._interval = CHECKPOINT_SECONDS if interval is None else interval
        self._lock = threading.Lock()
        self._pid = 0

    def ensure_running(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name=f"sqlite-checkpoints {self._path}",
                                 daemon=True).start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            leader = os.open(self._path + ".checkpointer", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # the database's folder has gone: nothing to checkpoint
            log.debug("no background checkpoints for %s: %s", self._path, exc)
            return
        leading = False
        try:
            while self._engine() is not None:
                time.sleep(self._interval)
                leading = leading or _try_lock(leader)
                if not leading:
                    continue
                with _outside_sqlite:
                    conn = self._checkpoint_on(conn)
        finally:
            with _outside_sqlite:
                if conn is not None:
                    conn.close()
            os.close(leader)  # releases the lock: another process's thread takes over

    def _checkpoint_on(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """One checkpoint on `conn` (opened if None); the connection to use next time."""
        try:
            if conn is None:  # mode=rw: never create a database that has gone away
                conn = sqlite3.connect(f"{Path(self._path).as_uri()}?mode=rw", uri=True,
                                       timeout=30, isolation_level=None)
            self._checkpoint(conn)
            return conn
        except sqlite3.Error as exc:
            log.debug("background checkpoint of %s failed: %s", self._path, exc)
            if conn is not None:
                conn.close()
            return None

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the log back, first without holding writers up, then the last few pages with
        them held at the writer gate. The log starts over from its beginning only when a writer
        begins after a checkpoint that left nothing behind; under steady load some writer is
        always mid-transaction during the first pass, so without the second the log would grow
        until the safety net."""
        # fetchall: a statement left unfinished would hold a read lock that stops the restart
        ((_, frames, _),) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        if frames > 0:
            self._gate.acquire()
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                self._gate.release()


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


class WriterGate:
    """Queues one SQLite database's writers on a blocking file lock.

    SQLite admits one writer at a time; a writer that finds the database busy sleeps in steps
    of 1 to 100 ms before it tries again, so under load most of the time goes to sleeping. A
    blocking `flock` wakes the next writer the moment the current one finishes, across threads
    and worker processes alike. The busy timeout stays as the safety net for other writers.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> None:
        self._lock.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()


_gates: dict[str, WriterGate] = {}
_gates_lock = threading.Lock()


def writer_gate(engine: Engine) -> WriterGate | None:
    """The gate for a SQLite file database's writers; None for other databases."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    path = os.path.abspath(database) + ".writers"
    with _gates_lock:
        gate = _gates.get(path)
        if gate is None:
            gate = _gates[path] = WriterGate(path)
        return gate
