"""`/health` (the process answers) and `/ready` (it can serve), without a key."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from loyalty.api.context import service_context
from loyalty.api.errors import RETRY_AFTER_SECONDS
from loyalty.api.outage import deferred_schema
from loyalty.services.health import readiness

#: Seconds a load balancer is asked to wait before it tries a service that is not ready.
RETRY_AFTER = str(RETRY_AFTER_SECONDS)

blp = Blueprint("health", __name__)


@blp.get("/health")
def health() -> Response:
    """The process is alive: it answers without touching the database."""
    return jsonify({"status": "alive"})


@blp.get("/ready")
def ready() -> Response:
    """200 when the database answers, the schema is current and rules are in force; else 503
    with what is missing and `Retry-After`."""
    schema = deferred_schema(current_app)
    ok, checks = readiness(service_context(), schema.ensure if schema is not None else None)
    response = jsonify({"status": "ready" if ok else "not ready", "checks": checks})
    if not ok:
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER
    return response
