"""Settings: defaults, then environment variables (`LOYALTY_*`), then explicit overrides."""

from __future__ import annotations

import difflib
import math
import os
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

DEFAULT_DATABASE_URL = "sqlite:///loyalty.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: `LOYALTY_*` variables read by something other than `Settings`: the test suite and its reports.
OTHER_VARIABLES = frozenset({"LOYALTY_RELIABILITY_LOG", "LOYALTY_MUTATION_SAMPLE",
                             "LOYALTY_MUTATION_CHILDREN"})
OTHER_PREFIXES = ("LOYALTY_TEST_",)
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class SettingsInvalid(ValueError):
    """Settings that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Bounds:
    """What a setting may hold: a number within `low`..`high`, text among `choices` (any case),
    and whatever `check` (a problem in words, or None) allows."""

    low: float | None = 0
    high: float | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None


def setting(default: Any, *, low: float | None = 0, high: float | None = None,
            choices: tuple[str, ...] = (), check: Callable[[Any], str | None] | None = None
            ) -> Any:
    """A field of `Settings` with its bounds. A number declared without them may be zero or
    more; NaN and infinities are refused everywhere."""
    return field(default=default, metadata={"bounds": Bounds(low, high, choices, check)})


def variable(name: str) -> str:
    """The environment variable of the setting `name`."""
    return f"LOYALTY_{name.upper()}"


def _database_url(value: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(value).get_backend_name()
    except ArgumentError:
        return ("not a database URL (e.g. sqlite:///loyalty.db or "
                "postgresql+psycopg://user@host/db)")
    if backend not in {"sqlite", "postgresql"}:
        return f"{backend} databases are not supported (sqlite or postgresql)"
    return None


def _region(value: str) -> str | None:
    import phonenumbers

    if value.upper() in phonenumbers.SUPPORTED_REGIONS:
        return None
    return "not a two-letter country code known for phone numbers (e.g. CN, DE, US)"


def _not_blank(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with; nothing is read at import time."""

    database_url: str = setting(DEFAULT_DATABASE_URL, check=_database_url)
    rules_dir: str = setting("rules", check=_not_blank)
    rules_refresh_seconds: float = setting(2.0, high=3600)
    key_cache_seconds: float = setting(5.0, high=3600)
    db_pool_size: int = setting(5, low=1, high=1000)
    db_echo: bool = False
    max_retries: int = setting(8, high=100)
    page_size: int = setting(50, low=1, high=1000)
    default_region: str = setting("CN", check=_region)
    future_tolerance_hours: float = setting(24.0, high=24 * 366)
    dry_run_horizon_days: float = setting(90.0, high=3660)
    auto_migrate: bool = True
    sqlite_background_checkpoints: bool = True
    # Empty: INFO when serving, WARNING for the other commands (they print their own results).
    log_level: str = setting("", choices=("", *LOG_LEVELS))
    # Where gunicorn's workers keep the metrics they share; empty: PROMETHEUS_MULTIPROC_DIR, or
    # a private temporary folder that `loyalty serve` creates and removes.
    metrics_dir: str = ""
    serve_timeout: int = setting(120, low=1, high=24 * 3600)
    # Seconds a serving process waits for PostgreSQL to accept a connection before it answers
    # 503; whole seconds, 2 to 60 (PostgreSQL's client library counts less than 2 as 2).
    db_connect_timeout_seconds: int = setting(5, low=2, high=60)
    # Seconds a statement may run on PostgreSQL in a serving process (a server that does not
    # answer at all is given up 2 s later), and a SQLite writer waits for a lock held by
    # another program, before the request answers 503; 1 to 100 (under gunicorn's 120 s).
    db_statement_timeout_seconds: float = setting(10.0, low=1, high=100)
    # Notification delivery (`loyalty deliver`): how long a notification is retried before it
    # is a dead letter; the wait before the first retry, doubled each time up to the longest;
    # how long a receiver may take to answer; how long a delivery process holds what it took.
    delivery_retry_hours: float = setting(24.0, high=24 * 30)
    delivery_backoff_seconds: float = setting(30.0, low=0.01, high=24 * 3600)
    delivery_max_backoff_seconds: float = setting(3600.0, low=0.01, high=24 * 3600)
    delivery_timeout_seconds: float = setting(10.0, low=0.1, high=300)
    delivery_lease_seconds: float = setting(300.0, low=1, high=24 * 3600)

    def __post_init__(self) -> None:
        problems = [problem for item in fields(self)
                    if (problem := _problem(item.name, getattr(self, item.name),
                                            item.metadata.get("bounds", Bounds())))]
        if problems:
            raise SettingsInvalid(problems)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, overridden by `LOYALTY_<FIELD>` variables, overridden by keyword arguments.
        `SettingsInvalid` names every value that cannot be used, one line each."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        kinds = _kinds(cls)
        for item in fields(cls):
            raw = env.get(variable(item.name))
            if raw is None:
                continue
            try:
                values[item.name] = _parse(kinds[item.name], raw)
            except ValueError as error:
                problems.append(f"{variable(item.name)}={raw!r}: {error}")
        try:
            settings = replace(cls(), **{**values, **overrides})
        except SettingsInvalid as error:
            raise SettingsInvalid(problems + error.problems) from None
        if problems:
            raise SettingsInvalid(problems)
        return settings

    @property
    def rules_path(self) -> Path:
        return Path(self.rules_dir)


def _kinds(cls: type) -> dict[str, Any]:
    """Each field's type, `X | None` read as X."""
    kinds: dict[str, Any] = {}
    for name, hint in get_type_hints(cls).items():
        if isinstance(hint, types.UnionType):
            hint = next(arg for arg in hint.__args__ if arg is not type(None))
        kinds[name] = hint
    return kinds


def _parse(kind: Any, raw: str) -> Any:
    """`raw` as a value of `kind`; ValueError says what it is not."""
    text = raw.strip()
    if kind is bool:
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise ValueError("not true or false (true/false, yes/no, on/off, 1/0)")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError("not a number") from None
    return raw


def _problem(name: str, value: Any, bounds: Bounds) -> str | None:
    """What is wrong with `value` for the setting `name`, in one line, if anything."""
    shown = format(value, "g") if isinstance(value, float) else repr(value)
    where = f"{variable(name)}={shown}"
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return f"{where}: not a finite number"
        if bounds.low is not None and value < bounds.low:
            return f"{where}: less than the minimum {bounds.low:g}"
        if bounds.high is not None and value > bounds.high:
            return f"{where}: more than the maximum {bounds.high:g}"
    if isinstance(value, str) and bounds.choices and value.upper() not in bounds.choices:
        return f"{where}: not one of {', '.join(choice for choice in bounds.choices if choice)}"
    problem = bounds.check(value) if bounds.check is not None else None
    return f"{where}: {problem}" if problem else None


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning line for each `LOYALTY_*` variable that names no setting: probably a typo."""
    env = os.environ if environ is None else environ
    known = sorted(variable(item.name) for item in fields(Settings))
    lines = []
    for name in sorted(env):
        if (not name.startswith("LOYALTY_") or name in known or name in OTHER_VARIABLES
                or name.startswith(OTHER_PREFIXES)):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        lines.append(f"{name} is not a setting and is ignored{hint}")
    return lines
