"""The composition root: settings, database engine, rule books and the HTTP API, assembled."""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping
from typing import Any

from flask import Flask

from loyalty.config import Settings
from loyalty.services.context import ServiceContext
from loyalty.services.rulebooks import RuleBookProvider
from loyalty.store.db import make_engine
from loyalty.store.migrate import ensure_schema


def build_context(settings: Settings, *, serving: bool = False) -> ServiceContext:
    """The service dependencies for `settings`: used by the app (`serving`) and by the
    `loyalty` command."""
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                         echo=settings.db_echo,
                         background_checkpoints=serving and settings.sqlite_background_checkpoints)
    # A pool inherited across fork (gunicorn --preload) must not share sockets with the parent.
    # The hook holds the engine weakly: an engine no longer used (and its SQLite checkpoint
    # thread) must be free to go, or every app a process ever built would live on.
    engine_ref = weakref.ref(engine)

    def dispose_in_child() -> None:
        inherited = engine_ref()
        if inherited is not None:
            inherited.dispose(close=False)

    os.register_at_fork(after_in_child=dispose_in_child)
    return ServiceContext(settings=settings, engine=engine,
                          rules=RuleBookProvider(engine, settings))


def settings_from(config: Settings | Mapping[str, Any] | None) -> Settings:
    if isinstance(config, Settings):
        return config
    return Settings.from_env(**dict(config or {}))


def build_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings from the environment unless `config` gives them."""
    from loyalty.api import init_api

    settings = settings_from(config)
    app = Flask("loyalty")
    app.config["LOYALTY_SETTINGS"] = settings
    context = build_context(settings, serving=True)
    if settings.auto_migrate:
        ensure_schema(context.engine)
    app.extensions["loyalty"] = context
    init_api(app, context)
    return app
