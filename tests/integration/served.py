"""The real service under gunicorn for load and crash tests: started in a process group of its
own, so that the test can SIGKILL workers, or the master with its workers, and start it again
on the same port; whatever is left is killed when the test ends, pass or fail."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.conftest import RULES_DIR

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 90.0  # a busy two-core machine boots a handful of workers in well under this


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """`gunicorn --workers N loyalty:create_app()` serving `database_url` on a fixed port."""

    def __init__(self, database_url: str, workers: int, log_dir: Path) -> None:
        self.database_url = database_url
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / "gunicorn.log"
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Start master and workers and wait until the service answers."""
        env = {**os.environ, "LOYALTY_DATABASE_URL": self.database_url,
               "LOYALTY_RULES_DIR": str(RULES_DIR), "LOYALTY_KEY_CACHE_SECONDS": "0"}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.starts += 1
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(gunicorn), "--workers", str(self.workers), "--bind",
                 f"127.0.0.1:{self.port}", "--timeout", "60", "loyalty:create_app()"],
                env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)
        self.wait_until_answering()

    def wait_until_answering(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/api/v1/openapi.json", timeout=5).is_success:
                    return
            process = self._process
            assert process is not None and process.poll() is None, self.log_tail()
            assert time.monotonic() < deadline, "the service did not start\n" + self.log_tail()
            time.sleep(0.2)

    @property
    def master(self) -> int:
        assert self._process is not None
        return self._process.pid

    def worker_pids(self) -> list[int]:
        """The workers the master has now (Linux: the master's children in /proc)."""
        children = Path(f"/proc/{self.master}/task/{self.master}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def kill_workers(self, count: int) -> int:
        """SIGKILL up to `count` workers, as an out-of-memory killer would; the master starts
        new ones. Returns how many were killed."""
        killed = 0
        for pid in self.worker_pids()[:count]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        return killed

    def kill_everything(self) -> int:
        """SIGKILL the master and every worker at once, as a power cut of the host would to
        the processes. Returns how many processes were killed."""
        processes = 1 + len(self.worker_pids())
        self._kill_group()
        return processes

    def stop(self) -> None:
        """Stop gracefully, and kill whatever does not stop in time."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        self._kill_group()

    def _kill_group(self) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the session's group id is the master's pid
        process.wait(timeout=30)

    def log_tail(self, characters: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""
