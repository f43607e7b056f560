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
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)
MAX_PROBES_PER_CHILD = 100
TIMEOUT_SECONDS = 60.0
CHILD_COMMAND = "from loyalty.engine.probe import main; main()"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class ProbeFailed(RuntimeError):
    """The probe child died, or did not answer in time."""


class ProbeWorker:
    """The parent's side: one child at a time, used under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._used = 0
        self._buffer = b""
        self.started = 0

    def probe(
        self,
        name: str,
        definition: dict[str, Any],
        first: list[dict[str, Any]],
        then: list[dict[str, Any]],
    ) -> str | None:
        """The engine's error text for this ruleset and probe facts, or None if it ran."""
        request = json.dumps(
            {"name": name, "definition": definition, "first": first, "then": then},
            default=str,
        ).encode()
        with self._lock:
            for attempt in (1, 2):
                try:
                    reply = self._ask(request)
                except (OSError, ProbeFailed, ValueError) as error:
                    self._stop()
                    logger.warning("engine probe child failed (attempt %s): %s", attempt, error)
                    if attempt == 2:
                        return f"the engine failed while loading the rules ({error})"
                    continue
                self._used += 1
                if self._used >= MAX_PROBES_PER_CHILD:
                    self._stop()
                error_text = reply.get("error")
                return None if error_text is None else str(error_text)
        return None  # unreachable: the loop returns

    @property
    def child_pid(self) -> int | None:
        """The pid of the current child, if one is running for this process."""
        if self._proc is None or self._pid != os.getpid():
            return None
        return self._proc.pid

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _ask(self, request: bytes) -> dict[str, Any]:
        proc = self._child()
        assert proc.stdin is not None
        proc.stdin.write(request + b"\n")
        proc.stdin.flush()
        assert proc.stdout is not None
        line = self._read_line(proc.stdout)
        reply = json.loads(line)
        if not isinstance(reply, dict):
            raise ProbeFailed(f"unexpected reply {line[:80]!r}")
        return reply

    def _child(self) -> subprocess.Popen[bytes]:
        if self._pid != os.getpid():
            self._proc = None  # a forked copy: the child belongs to the parent process
        if self._proc is None or self._proc.poll() is not None:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")) if p)}
            self._proc = subprocess.Popen(
                [sys.executable, "-c", CHILD_COMMAND],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            self._pid = os.getpid()
            self._used = 0
            self._buffer = b""
            self.started += 1
        return self._proc

    def _read_line(self, stream: IO[bytes]) -> bytes:
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if not selector.select(TIMEOUT_SECONDS):
                    raise ProbeFailed(f"no answer within {TIMEOUT_SECONDS:.0f} s")
                chunk = os.read(stream.fileno(), 65536)
                if not chunk:
                    raise ProbeFailed("the probe process ended")
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
