"""Prometheus metrics of the service, and what the use cases tell them.

The counters live in this process; under gunicorn (`loyalty serve`) every worker writes them to
files in the folder `PROMETHEUS_MULTIPROC_DIR` names, and `/metrics` adds up all the files, so
whichever worker answers a scrape reports the whole service. The figures read from the database
(notifications waiting, sweep progress) come from `loyalty.observability.figures`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# No `_created` series beside each counter: they double the page and are not used here (a
# server with several workers never has them).
disable_created_metrics()

#: Request latency buckets, in seconds: a till waits at most a few seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Rule evaluation buckets, in seconds: one evaluation takes well under a millisecond.
RULE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)

REQUESTS = Counter("loyalty_http_requests", "HTTP requests answered, by route template, "
                   "method and status.", ["route", "method", "status"])
LATENCY = Histogram("loyalty_http_request_duration_seconds", "Time to answer an HTTP request, "
                    "by route template, method and status.", ["route", "method", "status"],
                    buckets=LATENCY_BUCKETS)
IN_PROGRESS = Gauge("loyalty_http_requests_in_progress", "HTTP requests being answered now.",
                    multiprocess_mode="livesum")
TRANSACTIONS = Counter("loyalty_transactions", "Purchases and returns recorded (a replay or a "
                       "dry run is not counted).", ["type"])
EVENTS = Counter("loyalty_events", "Events recorded from tills and desks (a replay or a dry "
                 "run is not counted).")
POINTS_ISSUED = Counter("loyalty_points_issued", "Points given by recorded purchases and "
                        "events, pending ones included.", ["source"])
POINTS_CLAWED_BACK = Counter("loyalty_points_clawed_back", "Points taken back by recorded "
                             "returns.")
RULE_EVALUATION = Histogram("loyalty_rule_evaluation_seconds", "Time the rule engine takes to "
                            "evaluate one occurrence, by kind (purchase, return, event).",
                            ["kind"], buckets=RULE_BUCKETS)
SWEEP_MEMBERS = Counter("loyalty_sweep_member_visits", "Members a sweep phase run by this "
                        "service has processed.", ["phase"])


def request_answered(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method, str(status)).observe(seconds)


def transaction_recorded(kind: str, points: Mapping[str, int]) -> None:
    """A purchase or return was recorded: count it and the points it gave or took back."""
    TRANSACTIONS.labels(kind).inc()
    if points.get("earned"):
        POINTS_ISSUED.labels(kind).inc(points["earned"])
    if points.get("clawed_back"):
        POINTS_CLAWED_BACK.inc(points["clawed_back"])


def event_recorded(points: Mapping[str, int]) -> None:
    EVENTS.inc()
    if points.get("earned"):
        POINTS_ISSUED.labels("event").inc(points["earned"])


@contextmanager
def rule_evaluation(kind: str) -> Iterator[None]:
    """Time one evaluation of the rules."""
    started = time.perf_counter()
    try:
        yield
    finally:
        RULE_EVALUATION.labels(kind).observe(time.perf_counter() - started)


def sweep_progress(phase: str, members: int) -> None:
    SWEEP_MEMBERS.labels(phase).inc(members)


def shared_folder() -> str | None:
    """The folder gunicorn's workers share their metrics in, if this process is one of them."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _ThisProcess(Collector):
    """The metrics of this process alone, when no folder is shared."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def exposition(*collectors: Collector) -> tuple[bytes, str]:
    """The text a Prometheus scrape gets, and its content type: the service's counters (every
    worker's, when they share a folder) and what `collectors` add."""
    registry = CollectorRegistry()
    if shared_folder():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
