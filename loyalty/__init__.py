"""loyalty: a rule-engine loyalty service. `create_app` is the one place the app is assembled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from loyalty.config import Settings


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides the settings read from `LOYALTY_*` variables."""
    from loyalty.app import build_app

    return build_app(config)
