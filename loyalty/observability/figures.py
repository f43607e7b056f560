"""Figures read from the database at each scrape, the same whichever process did the work:
notifications waiting, and how far the daily sweep has got (a sweep usually runs in its own
`loyalty sweep` process, whose counters no server sees)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from loyalty.services.context import ServiceContext
from loyalty.services.sweep.important_dates import ImportantDatesPhase
from loyalty.store import tables as t
from loyalty.store.outage import DatabaseUnavailable

log = logging.getLogger(__name__)

#: The phase a sweep runs last: a shard that has finished it has finished the sweep.
LAST_PHASE = ImportantDatesPhase.name
#: How many recent finished shard runs are read to find the last sweep every shard finished.
RECENT_RUNS = 500


class OperationsCollector(Collector):
    """Prometheus gauges computed from the database when `/metrics` is read."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Any]:
        reachable = GaugeMetricFamily("loyalty_database_reachable", "1 when the figures below "
                                      "could be read from the database, else 0.")
        try:
            figures = list(self._figures())
        except (SQLAlchemyError, DatabaseUnavailable) as error:
            log.warning("metrics: the database could not be read: %s", type(error).__name__)
            reachable.add_metric([], 0)
            yield reachable
            return
        reachable.add_metric([], 1)
        yield reachable
        yield from figures

    def _figures(self) -> Iterator[Any]:
        with self.ctx.uow(read_only=True) as uow:
            conn = uow.connection
            waiting = conn.execute(
                select(func.count()).select_from(t.notifications)
                .where(t.notifications.c.status == "pending")).scalar_one()
            members = conn.execute(select(func.count()).select_from(t.members)).scalar_one()
            latest = conn.execute(select(func.max(t.sweep_runs.c.as_of))).scalar()
            r = t.sweep_runs.c
            done = conn.execute(
                select(r.phase, r.counts).where(r.as_of == latest)).all() if latest else []
            finished = conn.execute(
                select(r.as_of, r.shard, r.finished_at)
                .where(r.phase == LAST_PHASE, r.done.is_(True))
                .order_by(r.as_of.desc()).limit(RECENT_RUNS)).all()
        yield _gauge("loyalty_notifications_waiting", "Notifications queued and not yet "
                     "delivered, retries included (not the dead letters).", waiting)
        yield _gauge("loyalty_sweep_members", "Members each phase of a sweep walks: every "
                     "member of the programme.", members)
        per_phase = GaugeMetricFamily("loyalty_sweep_members_done", "Members each phase of "
                                      "the latest sweep has processed (all shards).",
                                      labels=["phase"])
        totals: dict[str, int] = defaultdict(int)
        for phase, counts in done:
            totals[phase] += int((counts or {}).get("members", 0))
        for phase, count in sorted(totals.items()):
            per_phase.add_metric([phase], count)
        yield per_phase
        if latest:
            yield _gauge("loyalty_sweep_latest_as_of_timestamp_seconds", "The instant the "
                         "latest sweep started runs as of.", _timestamp(latest))
        completed = _last_completed(finished)
        if completed is not None:
            as_of, at = completed
            yield _gauge("loyalty_sweep_last_completed_as_of_timestamp_seconds", "The instant "
                         "of the newest sweep that every shard finished.", _timestamp(as_of))
            yield _gauge("loyalty_sweep_last_completed_timestamp_seconds", "When the newest "
                         "sweep that every shard finished was finished.", at.timestamp())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _timestamp(as_of: str) -> float:
    return datetime.fromisoformat(as_of).timestamp()


def _last_completed(rows: Sequence[Any]) -> tuple[str, datetime] | None:
    """The newest sweep instant whose every shard (K/N: all N of them) finished, and when the
    last of them did."""
    shards: dict[str, set[str]] = defaultdict(set)
    finished_at: dict[str, datetime] = {}
    for as_of, shard, at in rows:
        shards[as_of].add(shard)
        finished_at[as_of] = max(at, finished_at.get(as_of, at))
    for as_of in sorted(shards, reverse=True):
        count = max(int(shard.partition("/")[2] or 1) for shard in shards[as_of])
        if len(shards[as_of]) >= count:
            return as_of, finished_at[as_of]
    return None
