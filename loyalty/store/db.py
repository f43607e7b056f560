"""Database engines: SQLite made safe for several writers, PostgreSQL with timeouts and
connections checked before use; neither keeps a connection an outage has left unfit."""

from __future__ import annotations

import contextlib
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

from loyalty.store.metric_queries import register_sqlite_functions
from loyalty.store.outage import DatabaseUnavailable, drop_poisoned_connections

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
                background_checkpoints: bool = False, connect_timeout: int | None = None,
                statement_timeout: float | None = None) -> Engine:
    """Create the engine for `url`; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE writes.

    `background_checkpoints` (for a serving process) moves a SQLite file database's WAL
    checkpoints out of the requests into a thread of their own. `connect_timeout` and
    `statement_timeout` (seconds; None: no limit of ours) bound how long PostgreSQL may take to
    accept a connection and to answer a statement (a server that does not answer at all is
    given up a little later); on SQLite the statement timeout is how long a writer waits for a
    lock held by another program. Every pooled PostgreSQL connection is checked before use,
    and a connection an error has left unfit is dropped, so that after an outage no request
    gets a dead connection.
    """
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, echo=echo, background_checkpoints=background_checkpoints,
                                busy_timeout=statement_timeout)
    else:
        engine = create_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_timeout=30.0 if statement_timeout is None else statement_timeout,
            future=True,
        )
        if engine.dialect.driver == "psycopg":
            _with_timeouts(engine, connect_timeout, statement_timeout)
    drop_poisoned_connections(engine)
    return engine


def _with_timeouts(engine: Engine, connect_timeout: int | None,
                   statement_timeout: float | None) -> None:
    from loyalty.store import postgres

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return postgres.connect(cargs, cparams, connect_timeout=connect_timeout,
                                statement_timeout=statement_timeout)


#: Seconds a SQLite writer waits for a lock held by another program, unless told otherwise.
SQLITE_BUSY_SECONDS = 30.0


def create_private(path: str) -> None:
    """Create a SQLite database file readable by its owner only (0600) before SQLite would
    create it with the umask's mode; its -wal and -shm files take the file's mode. A file that
    exists keeps its mode; a folder that does not is left to SQLite to report."""
    if path.startswith("file:"):
        return
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_engine(url: str, *, echo: bool, background_checkpoints: bool,
                   busy_timeout: float | None = None) -> Engine:
    memory = url in {"sqlite://", "sqlite:///:memory:"}
    busy = SQLITE_BUSY_SECONDS if busy_timeout is None else busy_timeout
    kwargs: dict[str, Any] = {"connect_args": {"timeout": busy, "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, echo=echo, future=True, **kwargs)
    if not memory and engine.url.database:
        create_private(engine.url.database)
    checkpointer = (
        WalCheckpointer(engine) if background_checkpoints and not memory and engine.url.database
        else None
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        register_sqlite_functions(dbapi_connection)
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

    if not memory and engine.url.database:
        _refused_while_read_only(engine, os.path.abspath(engine.url.database))
    return engine


def _refused_while_read_only(engine: Engine, path: str) -> None:
    """No connection is opened while the database file (or its -wal or -shm file) is
    read-only: SQLite would open it read-only for good, and while any connection of a process
    holds the files that way, no connection of that process can write, even after they are
    fixed. The request is answered 503 instead, and the first connection opened once the
    files can be written again writes."""

    @event.listens_for(engine, "do_connect")
    def _refuse(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        if not _writable(path):
            raise DatabaseUnavailable(f"{os.path.basename(path)} or its log cannot be written")


def _writable(path: str) -> bool:
    """Whether this process may write the database file and those of its log that exist."""
    return all(os.access(name, os.W_OK) or not os.path.exists(name)
               for name in (path, f"{path}-wal", f"{path}-shm"))


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
        leader = self._leader_file()
        if leader is None:  # the engine has gone
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

    def _leader_file(self) -> int | None:
        """The lock file's descriptor, once it can be opened (its folder may be away or
        read-only for a while); None when the engine has gone first."""
        while self._engine() is not None:
            try:
                return os.open(self._path + ".checkpointer", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                log.debug("no background checkpoints for %s yet: %s", self._path, exc)
                time.sleep(self._interval)
        return None

    def _checkpoint_on(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """One checkpoint on `conn` (opened if None); the connection to use next time."""
        if conn is None and not _writable(self._path):
            return None  # a connection opened now would be read-only, and hold writers up
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
                try:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError as error:  # its folder is away or read-only: try again later
                    raise DatabaseUnavailable(
                        f"cannot open {os.path.basename(self._path)}: {error.strerror}"
                    ) from error
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
