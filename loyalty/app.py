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
from loyalty.store.deferred_schema import DeferredSchema


def build_context(settings: Settings, *, serving: bool = False) -> ServiceContext:
    """The service dependencies for `settings`: used by the app (`serving`) and by the
    `loyalty` command."""
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                         echo=settings.db_echo,
                         background_checkpoints=serving and settings.sqlite_background_checkpoints,
                         connect_timeout=settings.db_connect_timeout_seconds,
                         statement_timeout=settings.db_statement_timeout_seconds if serving
                         else None)
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
                          rules=RuleBookProvider(engine, settings, background=serving))


def settings_from(config: Settings | Mapping[str, Any] | None) -> Settings:
    if isinstance(config, Settings):
        return config
    return Settings.from_env(**dict(config or {}))


def build_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings from the environment unless `config` gives them."""
    from loyalty.api import init_api
    from loyalty.api.outage import init_outage_handling
    from loyalty.observability.http import init_observability
    from loyalty.observability.logs import configure_app_logging

    settings = settings_from(config)
    configure_app_logging(settings)
    app = Flask("loyalty")
    app.config["LOYALTY_SETTINGS"] = settings
    context = build_context(settings, serving=True)
    # A database that is away does not stop the app: it answers 503 until the database returns
    schema = DeferredSchema(context.engine, enabled=settings.auto_migrate)
    schema.try_now()
    app.extensions["loyalty"] = context
    init_observability(app, context)  # first: its hooks see every request, refused ones too
    init_api(app, context)
    init_outage_handling(app, schema)
    return app
