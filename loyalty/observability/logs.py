"""Structured logs: one JSON object per line with time, level, logger, message and the request
id, personal data redacted; the same for the app, the `loyalty` command and gunicorn."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from loyalty.config import Settings, unknown_variables
from loyalty.observability.redaction import PersonalDataFilter

log = logging.getLogger(__name__)

#: The id of the request being served, in every log line written while serving it.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
#: An incoming `X-Request-Id` is kept only if it looks like an id: no spaces, quotes or markup.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(header: str | None) -> str:
    """The caller's request id if it is sane, else a new one."""
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request it was written for (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class AccessLogFields(logging.Filter):
    """Turns a gunicorn access record into a short message with named fields. Only these
    fields are kept: gunicorn offers every request header too, an API key among them."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms: Any = record.args
        if isinstance(atoms, tuple) or not hasattr(atoms, "__getitem__"):
            return True
        get = atoms.__getitem__  # gunicorn's safe atoms answer '-' for what is missing
        fields = {
            "method": get("m"), "path": get("U"), "query": get("q") or None,
            "status": _int(get("s")), "duration_ms": round(_int(get("D")) / 1000, 3),
            "bytes": _int(get("B")), "remote_addr": get("h"),
        }
        request_id = get("{x-request-id}o")
        record.request_id = None if request_id in (None, "-") else request_id
        record.msg, record.args = f"{fields['method']} {fields['path']} {fields['status']}", None
        for key, value in fields.items():
            setattr(record, key, value)
        return True


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class JsonLineFormatter(JsonFormatter):
    """time (UTC, ISO 8601 with milliseconds), level, logger, message, request_id, then any
    extra fields, as one line of JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}{request_id}", style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class _StandardError(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of each line."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler writing JSON lines (to `stream`, default standard error), redacted."""
    handler: logging.Handler = (_StandardError() if stream is None
                                else logging.StreamHandler(stream))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(JsonLineFormatter())
    handler._loyalty = True  # type: ignore[attr-defined]
    return handler


def configure_logging(level: str, *, stream: TextIO | None = None, force: bool = False) -> bool:
    """Send every log line of this process through one JSON handler at `level`, unless the
    process has configured logging already (gunicorn with our settings, a test runner):
    `force` replaces only a handler installed here before. True when installed."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "_loyalty", False)]
    if not force and len(ours) < len(root.handlers):
        return False
    for handler in ours:
        root.removeHandler(handler)
    root.addHandler(json_handler(stream))
    root.setLevel(level.upper())
    quiet_libraries()
    return True


def configure_app_logging(settings: Settings) -> None:
    """A served app's lines go out as JSON unless the process configured logging already
    (gunicorn as `loyalty serve` runs it, a test runner); a `LOYALTY_*` variable that names no
    setting is logged as a warning."""
    configure_logging(settings.log_level or "INFO")
    for warning in unknown_variables():
        log.warning(warning)


def quiet_libraries() -> None:
    """SQL goes to the logs only when asked for (`LOYALTY_DB_ECHO`), and then as JSON lines
    like any other, never through SQLAlchemy's own plain handler on standard output; the
    migration tool's plugin list stays out."""
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    engine = logging.getLogger("sqlalchemy.engine.Engine")
    if not engine.handlers:
        engine.addHandler(logging.NullHandler())


def logging_config(level: str) -> dict[str, Any]:
    """`logging.config.dictConfig` settings for gunicorn (`logconfig_dict`): its error and
    access logs and the app's own lines, all as JSON on standard error."""
    filters = ["request_id", "personal_data"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "personal_data": {"()": PersonalDataFilter},
            "access": {"()": AccessLogFields},
        },
        "formatters": {"json": {"()": JsonLineFormatter}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json",
                        "stream": "ext://sys.stderr", "filters": filters},
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"level": level.upper(), "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True,
                                "filters": ["access"]},
            "sqlalchemy": {"level": "WARNING"},
            "alembic.runtime.plugins": {"level": "WARNING"},
            "sqlalchemy.engine.Engine": {"handlers": ["null"], "propagate": True},
        },
    }
