"""Probing compiled rulesets in a child process, so the engine memory they take is given back.

durable_rules never frees a ruleset. A check loads every candidate set into a scratch Host,
so probing in the service process would grow it by about half a megabyte per distinct set.
The parent keeps one child (running `main` below) that reads one JSON request per
line on stdin and answers one JSON line; the child is replaced after `MAX_PROBES_PER_CHILD`
probes, after a fork, and when it crashes or stops answering.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import selectors
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
MAX_PROBES_PER_CHILD = 100
TIMEOUT_SECONDS = 60.0
CHILD_COMMAND = "from loyalty.engine.probe import main; main()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class ProbeFailed(RuntimeError):
    """The probe child died, or did not answer in time."""


#: Every child worker of this process, so that all their children can be stopped at once.
_WORKERS: weakref.WeakSet[ChildWorker] = weakref.WeakSet()


def close_all() -> None:
    """Stop every worker's child and wait for it: a process that goes on to wait for children
    of its own (a test runner forking one process per run) meets none of ours."""
    for worker in list(_WORKERS):
        worker.close()


class ChildWorker:
    """The parent's side of a child answering one JSON line per JSON request line: one child
    at a time, used under a lock, replaced after `max_uses` requests, after a fork, and when it
    crashes or stops answering. A child may write lines with a `progress` key before its
    answer; they go to the caller's `progress` callback."""

    def __init__(self, command: str, *, max_uses: int = MAX_PROBES_PER_CHILD,
                 timeout: float = TIMEOUT_SECONDS, env: dict[str, str] | None = None,
                 idle_seconds: float | None = None) -> None:
        self._command = command
        self._max_uses = max_uses
        self.timeout = timeout
        self._env = env or {}
        self._idle_seconds = idle_seconds  # a child unused this long is stopped
        self._asked = 0
        self._idle_timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._used = 0
        self._buffer = b""
        self.started = 0
        _WORKERS.add(self)

    def ask(self, request: dict[str, Any], *, attempts: int = 2,
            progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """The child's answer to `request`; ProbeFailed when the last attempt's child died or
        did not answer within `timeout` seconds (a fresh child is tried for each attempt)."""
        line = json.dumps(request, default=str).encode()
        with self._lock:
            for attempt in range(1, attempts + 1):
                try:
                    reply = self._ask(line, progress)
                except (OSError, ProbeFailed, ValueError) as error:
                    self._stop()
                    logger.warning("child %r failed (attempt %s): %s", self._command, attempt,
                                   error)
                    if attempt == attempts:
                        raise ProbeFailed(str(error)) from error
                    continue
                self._used += 1
                if self._used >= self._max_uses:
                    self._stop()
                self._stop_when_idle()
                return reply
        raise ProbeFailed("no attempt was made")

    def _stop_when_idle(self) -> None:
        """Stop the child if nothing else is asked within `idle_seconds` (under the lock)."""
        if self._idle_seconds is None:
            return
        self._asked += 1
        asked = self._asked

        def stop_if_unused() -> None:
            with self._lock:
                if self._asked == asked:
                    self._stop()

        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = threading.Timer(self._idle_seconds, stop_if_unused)
        self._idle_timer.daemon = True
        self._idle_timer.start()

    @property
    def child_pid(self) -> int | None:
        """The pid of the current child, if one is running for this process."""
        if self._proc is None or self._pid != os.getpid():
            return None
        return self._proc.pid

    def close(self) -> None:
        with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self._stop()

    def _ask(self, request: bytes,
             progress: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
        proc = self._child()
        assert proc.stdin is not None
        proc.stdin.write(request + b"\n")
        proc.stdin.flush()
        assert proc.stdout is not None
        while True:
            line = self._read_line(proc)
            reply = json.loads(line)
            if not isinstance(reply, dict):
                raise ProbeFailed(f"unexpected reply {line[:80]!r}")
            if "progress" not in reply:
                return reply
            if progress is not None:
                progress(reply)

    def _child(self) -> subprocess.Popen[bytes]:
        if self._pid != os.getpid():
            self._proc = None  # a forked copy: the child belongs to the parent process
        if self._proc is None or self._proc.poll() is not None:
            env = {**os.environ, **self._env, "PYTHONPATH": os.pathsep.join(
                p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")) if p)}
            self._proc = subprocess.Popen(
                [sys.executable, "-c", self._command],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            self._pid = os.getpid()
            self._used = 0
            self._buffer = b""
            self.started += 1
        return self._proc

    def _read_line(self, proc: subprocess.Popen[bytes]) -> bytes:
        stream = proc.stdout
        assert stream is not None
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if not selector.select(self.timeout):
                    raise ProbeFailed(f"no answer within {self.timeout:.0f} s")
                chunk = os.read(stream.fileno(), 65536)
                if not chunk:
                    status = proc.wait(timeout=5)
                    how = (f"killed by signal {-status}" if status < 0
                           else f"exit status {status}")
                    raise ProbeFailed(f"the child process ended ({how})")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or self._pid != os.getpid():
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


class ProbeWorker(ChildWorker):
    """The child that loads compiled rulesets into a scratch engine (`main` below). Inside a
    process that is itself a scratch child (`in_process`), rulesets are probed right there."""

    in_process = False

    def __init__(self) -> None:
        super().__init__(CHILD_COMMAND)

    def probe(
        self,
        name: str,
        definition: dict[str, Any],
        first: list[dict[str, Any]],
        then: list[dict[str, Any]],
    ) -> str | None:
        """The engine's error text for this ruleset and probe facts, or None if it ran."""
        if self.in_process:
            from loyalty.engine.host import probe

            return probe(name, definition, first, _constant(then))
        try:
            reply = self.ask({"name": name, "definition": definition, "first": first,
                              "then": then})
        except ProbeFailed as error:
            return f"the engine failed while loading the rules ({error})"
        error_text = reply.get("error")
        return None if error_text is None else str(error_text)


WORKER = ProbeWorker()
atexit.register(WORKER.close)


def _constant(facts: list[dict[str, Any]]) -> Callable[[list[Any]], list[dict[str, Any]]]:
    def then(hits: list[Any]) -> list[dict[str, Any]]:
        return facts

    return then


def main() -> None:
    """The child: answer each JSON request line with {"error": text or null}."""
    from loyalty.engine.host import probe

    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else written to stdout must not be mistaken for an answer
    for raw in sys.stdin.buffer:
        request = json.loads(raw)
        error = probe(request["name"], request["definition"], request["first"],
                      _constant(request["then"]))
        out.write(json.dumps({"error": error}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
