"""Settings: defaults, then environment variables (`LOYALTY_*`), then explicit overrides."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///loyalty.db"


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with; nothing is read at import time."""

    database_url: str = DEFAULT_DATABASE_URL
    rules_dir: str = "rules"
    rules_refresh_seconds: float = 2.0
    key_cache_seconds: float = 5.0
    db_pool_size: int = 5
    db_echo: bool = False
    max_retries: int = 8
    page_size: int = 50
    default_region: str = "CN"
    future_tolerance_hours: float = 24.0
    dry_run_horizon_days: float = 90.0
    auto_migrate: bool = True
    sqlite_background_checkpoints: bool = True

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, overridden by `LOYALTY_<FIELD>` variables, overridden by keyword arguments."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(f"LOYALTY_{field.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls, field.name))
            if kind is bool:
                values[field.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            else:
                values[field.name] = kind(raw)
        settings = replace(cls(), **values)
        return replace(settings, **overrides)

    @property
    def rules_path(self) -> Path:
        return Path(self.rules_dir)
