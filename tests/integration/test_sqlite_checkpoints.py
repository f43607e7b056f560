"""A serving process checkpoints SQLite's write-ahead log in the background, not in requests."""

from __future__ import annotations

import gc
import multiprocessing
import sqlite3
import threading
import time
import weakref
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from loyalty.app import build_app
from loyalty.store import db
from loyalty.store.db import SAFETY_CHECKPOINT_PAGES, make_engine, writer_gate
from tests.conftest import RULES_DIR

ROWS = 400
ROW_BYTES = 4096  # about 1.6 MB in all: far below the safety net, so only the thread checkpoints


def _fill(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, body BLOB)"))
        conn.execute(text("INSERT INTO blobs (body) VALUES (:body)"),
                     [{"body": bytes(ROW_BYTES)} for _ in range(ROWS)])


def _checkpoint_threads(path: Path) -> int:
    name = f"sqlite-checkpoints {path}"
    return sum(1 for thread in threading.enumerate() if thread.name == name)


def _autocheckpoint(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


@pytest.mark.parametrize("name", ["serving.db", "shop 50% off.db"])
def test_a_serving_engine_checkpoints_in_the_background(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    try:
        assert _autocheckpoint(engine) == SAFETY_CHECKPOINT_PAGES  # requests no longer do it
        assert _checkpoint_threads(path) == 1
        _fill(engine)
        deadline = time.monotonic() + 10
        while path.stat().st_size < ROWS * ROW_BYTES and time.monotonic() < deadline:
            time.sleep(0.05)
        # the rows reached the database file itself, with no connection closed and no request
        # crossing the WAL threshold: the background thread copied them there
        assert path.stat().st_size >= ROWS * ROW_BYTES
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM blobs").scalar_one() == ROWS
    finally:
        engine.dispose()


def test_other_engines_keep_sqlites_own_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert _autocheckpoint(engine) == 1000  # SQLite's default
        assert _checkpoint_threads(path) == 0
    finally:
        engine.dispose()


def test_the_thread_ends_with_its_engine(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    _fill(engine)
    assert _checkpoint_threads(path) == 1
    engine.dispose()
    del engine
    gc.collect()
    deadline = time.monotonic() + 5
    while _checkpoint_threads(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _checkpoint_threads(path) == 0


def test_an_app_no_longer_used_lets_its_engine_and_thread_go(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    app = build_app({"database_url": f"sqlite:///{path}", "rules_dir": str(RULES_DIR),
                     "sqlite_background_checkpoints": True})
    engine = weakref.ref(app.extensions["loyalty"].engine)
    assert _checkpoint_threads(path) == 1
    del app
    gc.collect()
    assert engine() is None  # nothing, not even the fork hook, keeps it alive
    deadline = time.monotonic() + 5
    while _checkpoint_threads(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _checkpoint_threads(path) == 0


def _wait_for_size(path: Path, size: int) -> int:
    deadline = time.monotonic() + 10
    while path.stat().st_size < size and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.stat().st_size


def test_one_process_checkpoints_and_another_takes_over(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    _fill(first)
    # the first thread alone: it takes the lead and copies the rows into the database file
    assert _wait_for_size(path, ROWS * ROW_BYTES) >= ROWS * ROW_BYTES
    second = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    try:
        _fill(second)  # the second thread waits for the lead; the first copies these rows too
        assert _wait_for_size(path, 2 * ROWS * ROW_BYTES) >= 2 * ROWS * ROW_BYTES
        first.dispose()
        del first
        gc.collect()
        _fill(second)
        # the first thread has gone and released the lead: the second takes over
        assert _wait_for_size(path, 3 * ROWS * ROW_BYTES) >= 3 * ROWS * ROW_BYTES
    finally:
        second.dispose()


def test_the_app_checkpoints_in_the_background_unless_told_not_to(tmp_path: Path) -> None:
    for setting, expected in ((True, SAFETY_CHECKPOINT_PAGES), (False, 1000)):
        app = build_app({"database_url": f"sqlite:///{tmp_path / f'{setting}.db'}",
                         "sqlite_background_checkpoints": setting})
        engine = app.extensions["loyalty"].engine
        try:
            assert _autocheckpoint(engine) == expected
        finally:
            engine.dispose()


def _log_restarts(path: Path) -> int:
    """The WAL header's checkpoint sequence number: it counts the times the log started over."""
    with open(f"{path}-wal", "rb") as wal:
        return int.from_bytes(wal.read(16)[12:16], "big")


def test_the_log_starts_over_under_steady_writes(tmp_path: Path) -> None:
    """Writers that never pause (each queued at the writer gate, as the service's are) still
    let the log start over about once a second, instead of growing until the safety net."""
    path = tmp_path / "busy.db"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    gate = writer_gate(engine)
    assert gate is not None
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT)"))
        before = _log_restarts(path)
        deadline = time.monotonic() + 4.5
        while time.monotonic() < deadline:
            gate.acquire()
            try:
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO rows (body) VALUES (:b)"), {"b": "x" * 100})
            finally:
                gate.release()
            time.sleep(0.001)
        assert _log_restarts(path) - before >= 2
    finally:
        engine.dispose()


def _child_uses_sqlite(path: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS seen (n INTEGER)")
        conn.execute("INSERT INTO seen VALUES (1)")


def test_a_fork_never_catches_the_thread_inside_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that forks (gunicorn --preload, a test runner) while its checkpoint thread is
    busy: every child can still use SQLite, instead of hanging on a mutex nobody will free."""
    monkeypatch.setattr(db, "CHECKPOINT_SECONDS", 0.0005)  # checkpoint almost all the time
    path = tmp_path / "parent.db"
    engine = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    fork = multiprocessing.get_context("fork")
    try:
        _fill(engine)
        for n in range(60):
            _fill(engine)  # keep the checkpoints busy
            child = fork.Process(target=_child_uses_sqlite, args=(str(tmp_path / f"{n}.db"),))
            child.start()
            child.join(10)
            hung = child.is_alive()
            if hung:
                child.kill()
            assert not hung and child.exitcode == 0
    finally:
        engine.dispose()
