"""gunicorn's settings for the service, as `loyalty serve` runs it (`gunicorn -c
python:loyalty.observability.gunicorn_config` does the same): gunicorn's own lines, its access
log and the app's lines as JSON on standard error; the workers' metrics in one private folder,
emptied at start and at exit, a worker's live gauges dropped when it exits. A bad setting
stops the start with one line per problem."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from loyalty.config import Settings, SettingsInvalid
from loyalty.observability.logs import logging_config

#: A metrics folder `loyalty serve` made for one run: removed when the server exits.
TEMPORARY_PREFIX = "loyalty-metrics-"


def settings_or_exit() -> Settings:
    """The settings; a bad one ends the process with exit status 2 and one line each."""
    try:
        settings = Settings.from_env()
    except SettingsInvalid as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings


def metrics_folder(settings: Settings) -> Path:
    """The folder the workers share their metrics in (LOYALTY_METRICS_DIR, else
    PROMETHEUS_MULTIPROC_DIR, else a new temporary one), made private if it is new, and named
    to every worker by PROMETHEUS_MULTIPROC_DIR."""
    chosen = settings.metrics_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = Path(chosen or tempfile.mkdtemp(prefix=TEMPORARY_PREFIX)).resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def empty(folder: Path) -> None:
    """Remove the metric files of an earlier run: its counts are not this run's."""
    for path in folder.glob("*.db"):
        path.unlink(missing_ok=True)


_settings = settings_or_exit()
_folder = metrics_folder(_settings)

wsgi_app = "loyalty:create_app()"
timeout = _settings.serve_timeout
loglevel = (_settings.log_level or "INFO").lower()
logconfig_dict = logging_config(_settings.log_level or "INFO")
# No control socket (gunicorn 25+): servers of one user would share its one path under the home
# folder, which a container or a hardened unit may not even let them write.
control_socket_disable = True


def on_starting(_server: Any) -> None:
    empty(_folder)


def child_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_folder))


def on_exit(_server: Any) -> None:
    empty(_folder)
    if _folder.name.startswith(TEMPORARY_PREFIX) and _folder.parent == Path(
            tempfile.gettempdir()).resolve():
        shutil.rmtree(_folder, ignore_errors=True)
