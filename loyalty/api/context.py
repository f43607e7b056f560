"""The service context of the running app, for views and the authentication check."""

from __future__ import annotations

from flask import current_app, has_app_context

from loyalty.services.context import ServiceContext

EXTENSION = "loyalty"


def service_context() -> ServiceContext:
    """The `ServiceContext` that `create_app` attached to the current app."""
    context: ServiceContext = current_app.extensions[EXTENSION]
    return context


def current_service() -> ServiceContext | None:
    """The running app's `ServiceContext`, or None outside an app (a schema used on its own)."""
    if not has_app_context():
        return None
    context: ServiceContext | None = current_app.extensions.get(EXTENSION)
    return context
