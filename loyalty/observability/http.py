"""The HTTP side of observability: a request id on every request and its log lines, request
counts and latency per route, and `GET /metrics` for Prometheus.

`/metrics` needs no key, as `/health` does not: a Prometheus server scrapes without the
service's API keys, and the page holds only counts and timings, no member, key or personal
data. Route labels are templates (`/api/v1/members/<member_id>`), never the ids in a path.
Expose the port to the monitoring network only; keep `/metrics` off any public proxy."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, g, request

from loyalty.observability import metrics
from loyalty.observability.figures import OperationsCollector
from loyalty.observability.logs import REQUEST_ID, request_id_from
from loyalty.services.context import ServiceContext

REQUEST_ID_HEADER = "X-Request-Id"
#: The route label of a request no route matched (a 404 or 405): its path is not a label.
UNMATCHED = "unmatched"


def init_observability(app: Flask, context: ServiceContext) -> None:
    """Attach request ids, request metrics and `GET /metrics` to `app`."""
    collector = OperationsCollector(context)
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def scrape() -> Response:
        body, content_type = metrics.exposition(collector)
        return Response(body, content_type=content_type)

    app.register_blueprint(blueprint)
    app.before_request(_started)
    app.after_request(_answered)
    app.teardown_request(_finished)


def _started() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()
    REQUEST_ID.set(g.request_id)
    metrics.IN_PROGRESS.inc()


def _answered(response: Response) -> Response:
    request_id = g.get("request_id") or request_id_from(request.headers.get(REQUEST_ID_HEADER))
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        metrics.request_answered(route, request.method, response.status_code,
                                 time.perf_counter() - started)
    return response


def _finished(_error: BaseException | None) -> None:
    if g.get("request_started") is not None:
        metrics.IN_PROGRESS.dec()
    REQUEST_ID.set(None)
