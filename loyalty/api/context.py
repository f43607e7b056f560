"""The service context of the running app, for views and the authentication check."""

from __future__ import annotations

from flask import current_app

from loyalty.services.context import ServiceContext

EXTENSION = "loyalty"


def service_context() -> ServiceContext:
    """The `ServiceContext` that `create_app` attached to the current app."""
    context: ServiceContext = current_app.extensions[EXTENSION]
    return context
