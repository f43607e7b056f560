"""Which database errors a write tries again: a passing SQLite lock yes, a full busy wait no."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy.exc import OperationalError

import loyalty.store.uow as uow
from loyalty.store.uow import run_with_retry


def locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def test_a_lock_error_that_came_at_once_is_tried_again() -> None:
    calls = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise locked()
        return "recorded"

    assert run_with_retry(attempt, retries=8) == "recorded"
    assert len(calls) == 3


def test_a_lock_error_after_a_whole_busy_wait_is_not_waited_for_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uow, "BUSY_WAIT_SECONDS", 0.05)
    calls = []

    def attempt() -> str:
        calls.append(1)
        time.sleep(0.06)  # as SQLite does for its busy timeout before it gives up
        raise locked()

    with pytest.raises(OperationalError):
        run_with_retry(attempt, retries=8)
    assert len(calls) == 1
