"""The parent's side of a checking child process: progress lines, a crash reported with its
signal, and a child stopped when idle."""

from __future__ import annotations

import os
import time

import pytest

from loyalty.engine.probe import ChildWorker, ProbeFailed, close_all

ECHO = ("import json, sys\n"
        "for line in sys.stdin:\n"
        "    print(json.dumps({'progress': 'reading'}), flush=True)\n"
        "    print(json.dumps({'echo': json.loads(line)}), flush=True)\n")
CRASH = "import os, signal, sys\nsys.stdin.readline()\nos.kill(os.getpid(), signal.SIGKILL)\n"


def test_progress_lines_reach_the_caller_before_the_answer() -> None:
    worker = ChildWorker(ECHO)
    seen: list[str] = []
    try:
        assert worker.ask({"n": 1}, progress=lambda line: seen.append(line["progress"])) \
            == {"echo": {"n": 1}}
    finally:
        worker.close()
    assert seen == ["reading"]


def test_a_child_that_dies_is_reported_with_its_signal_after_one_fresh_retry() -> None:
    worker = ChildWorker(CRASH)
    with pytest.raises(ProbeFailed, match=r"the child process ended \(killed by signal 9\)"):
        worker.ask({"n": 1})
    assert worker.started == 2


def test_an_idle_child_is_stopped_and_a_new_one_started_when_needed() -> None:
    worker = ChildWorker(ECHO, idle_seconds=0.2)
    try:
        worker.ask({"n": 1})
        assert worker.child_pid is not None
        deadline = time.monotonic() + 10
        while worker.child_pid is not None:
            assert time.monotonic() < deadline, "the idle child was not stopped"
            time.sleep(0.05)
        assert worker.ask({"n": 2}) == {"echo": {"n": 2}}
        assert worker.started == 2
    finally:
        worker.close()


def test_closing_all_workers_stops_and_reaps_every_child() -> None:
    workers = [ChildWorker(ECHO, idle_seconds=60), ChildWorker(ECHO)]
    for n, worker in enumerate(workers):
        worker.ask({"n": n})
    pids = [worker.child_pid for worker in workers]
    assert None not in pids
    close_all()
    assert [worker.child_pid for worker in workers] == [None, None]
    for pid in pids:
        assert pid is not None
        with pytest.raises(ChildProcessError):  # already waited for: nothing left to reap
            os.waitpid(pid, os.WNOHANG)
