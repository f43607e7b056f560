"""`loyalty` run as an operator runs it, in a process of its own: the command itself, and
`loyalty serve` started in a process group of its own, stopped (killed if need be) when the
test ends, with everything it wrote to standard error kept for the test to read."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.integration.served import free_port

ROOT = Path(__file__).resolve().parents[2]
#: The `loyalty` command installed beside the interpreter running the tests.
LOYALTY = str(Path(sys.executable).with_name("loyalty"))
READY_SECONDS = 90.0  # two workers boot in a few seconds; a busy two-core machine is slower


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without any `LOYALTY_*` or metrics folder of its own, plus
    `settings` (`LOYALTY_*` variables)."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("LOYALTY_") and name != "PROMETHEUS_MULTIPROC_DIR"}
    return {**env, **settings}


def run(args: Sequence[str], env: Mapping[str, str], cwd: Path,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`loyalty ARGS` to the end, with its output."""
    return subprocess.run([LOYALTY, *args], env=dict(env), cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)


class Served:
    """`loyalty serve ARGS` on a free port until the block ends."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: Path,
                 log: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = [*args, "--bind", f"127.0.0.1:{self.port}"]
        self.env = dict(env)
        self.cwd = cwd
        self.log = log
        self.out = log.with_suffix(".out")
        self.process: subprocess.Popen[bytes] | None = None
        self.key = ""  # an API key a test made for talking to it

    def __enter__(self) -> Served:
        with self.log.open("wb") as err, self.out.open("wb") as out:
            self.process = subprocess.Popen([LOYALTY, "serve", *self.args], env=self.env,
                                            cwd=self.cwd, stdout=out, stderr=err,
                                            start_new_session=True)
        deadline = time.monotonic() + READY_SECONDS
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/health", timeout=5).is_success:
                    return self
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, "the service did not start\n" + self.text()
            time.sleep(0.2)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.base_url}{path}", timeout=30, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.base_url}{path}", json=body, timeout=30, **kwargs)

    def text(self) -> str:
        """What the server wrote to standard error so far."""
        return self.log.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line of standard error, read as JSON (a line that is not fails the test)."""
        lines = []
        for line in self.text().splitlines():
            if line.strip():
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise AssertionError(f"not a JSON line: {line!r}") from error
        return lines

    def wait_for_line(self, predicate: Any, timeout: float = 30) -> dict[str, Any]:
        """The first log line `predicate` accepts, once the server has written it."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.log_lines() if predicate(line)]
            if found:
                return found[0]
            assert time.monotonic() < deadline, "no such log line\n" + self.text()[-3000:]
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        """The master's children now (Linux: /proc); `loyalty serve` became the master."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        try:
            return [int(child) for child in children.read_text().split()]
        except FileNotFoundError:
            return []
