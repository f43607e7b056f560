"""While the database is away: requests that need it are answered 503 `database_unavailable`
with `Retry-After` (see `errors.py`), and a process that started without it makes sure of the
schema before the first request that needs it once it returns."""

from __future__ import annotations

from flask import Flask, request

from loyalty.store.deferred_schema import DeferredSchema

#: Where the app keeps its `DeferredSchema`.
SCHEMA_EXTENSION = "loyalty_schema"

#: Endpoints that answer without the database: liveness (readiness tries the schema itself),
#: the API document and its assets.
WITHOUT_DATABASE = ("health.", "api-docs.", "docs_assets.", "static", "metrics")


def init_outage_handling(app: Flask, schema: DeferredSchema) -> None:
    """Have every request that needs the database wait for the schema to be made sure of."""
    app.extensions[SCHEMA_EXTENSION] = schema

    @app.before_request
    def _schema_first() -> None:
        if schema.settled:
            return
        endpoint = request.endpoint
        if endpoint is None or endpoint.startswith(WITHOUT_DATABASE):
            return
        schema.ensure()


def deferred_schema(app: Flask) -> DeferredSchema | None:
    """The app's `DeferredSchema`, if it has one."""
    found: DeferredSchema | None = app.extensions.get(SCHEMA_EXTENSION)
    return found
