"""The sweep: every time-based behaviour, for every member, as of one instant.

Phases run one after another; each walks the shard's members in batches (keyset order by
member id), one transaction per batch with the batch's members locked, and records its
position in `sweep_runs` in the same transaction. An interrupted sweep resumes where it
stopped; a finished one run again for the same instant changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from loyalty.domain.errors import ValidationFailed
from loyalty.observability import metrics
from loyalty.services import audit
from loyalty.services.audit import Actor
from loyalty.services.context import ServiceContext
from loyalty.services.sweep.base import Batch, Phase, Shard, Sweep, run_key
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]


def _checkpoint(uow: SqlUnitOfWork, sweep: Sweep, phase: str) -> Any:
    r = t.sweep_runs.c
    return uow.connection.execute(select(t.sweep_runs).where(
        r.as_of == sweep.key, r.shard == str(sweep.shard), r.phase == phase)).first()


def _save_checkpoint(uow: SqlUnitOfWork, sweep: Sweep, phase: str, cursor: str | None,
                     done: bool, counts: Counter[str], existing: Any) -> None:
    r = t.sweep_runs.c
    values = {"cursor": cursor, "done": done, "counts": dict(counts),
              "finished_at": sweep.now if done else None}
    if existing is None:
        uow.connection.execute(insert(t.sweep_runs).values(
            as_of=sweep.key, shard=str(sweep.shard), phase=phase, started_at=sweep.now,
            **values))
    else:
        uow.connection.execute(update(t.sweep_runs).where(
            r.as_of == sweep.key, r.shard == str(sweep.shard), r.phase == phase).values(**values))


def _next_batch(uow: SqlUnitOfWork, shard: Shard, cursor: str | None, size: int) -> Batch | None:
    """The next `size` members after `cursor`, locked (PostgreSQL) in member id order."""
    m = t.members.c
    query = select(m.member_id).where(shard.predicate())
    if cursor is not None:
        query = query.where(m.member_id > cursor)
    query = query.order_by(m.member_id).limit(size)
    if uow.dialect != "sqlite":
        query = query.with_for_update()
    ids = uow.connection.execute(query).scalars().all()
    if not ids:
        return None
    return Batch(shard=shard, lo=cursor, hi=ids[-1], size=len(ids))


def previous_sweep(ctx: ServiceContext, shard: Shard, before: str) -> datetime | None:
    """The instant of the last finished sweep of this shard before `before`."""
    r = t.sweep_runs.c
    with ctx.uow(read_only=True) as uow:
        value = uow.connection.execute(
            select(func.max(r.as_of)).where(r.shard == str(shard), r.phase == "calendar",
                                            r.done.is_(True), r.as_of < before)
        ).scalar()
    return None if value is None else datetime.fromisoformat(value)


def run_phase(sweep: Sweep, phase: Phase, batch_size: int,
              progress: Progress | None = None) -> Counter[str]:
    """Run one phase over the shard, resuming from its checkpoint."""
    ctx = sweep.ctx
    with ctx.uow(read_only=True) as uow:
        state = _checkpoint(uow, sweep, phase.name)
    if state is not None and state.done:
        return Counter(state.counts)
    phase.prepare(sweep)
    totals: Counter[str] = Counter(state.counts if state is not None else {})

    def one_batch() -> bool:
        with ctx.uow() as uow:
            current = _checkpoint(uow, sweep, phase.name)
            cursor = current.cursor if current is not None else None
            counts = Counter({"members": 0, **(current.counts if current is not None else {})})
            batch = _next_batch(uow, sweep.shard, cursor, batch_size)
            if batch is None:
                _save_checkpoint(uow, sweep, phase.name, cursor, True, counts, current)
                uow.commit()
                totals.clear()
                totals.update(counts)
                return False
            counts.update(phase.run_batch(sweep, uow, batch))
            counts["members"] += batch.size
            _save_checkpoint(uow, sweep, phase.name, batch.hi, False, counts, current)
            uow.commit()
        totals.clear()
        totals.update(counts)
        metrics.sweep_progress(phase.name, batch.size)
        if progress is not None:
            progress(phase.name, batch.size)
        return True

    while run_with_retry(one_batch, retries=ctx.settings.max_retries):
        pass
    log.info("sweep %s shard %s phase %s: %s", sweep.key, sweep.shard, phase.name,
             dict(totals))
    return totals


def count_members(ctx: ServiceContext, shard: Shard) -> int:
    with ctx.uow(read_only=True) as uow:
        return int(uow.connection.execute(
            select(func.count()).select_from(t.members).where(shard.predicate())).scalar_one())


def remaining_work(ctx: ServiceContext, as_of: datetime, shard: Shard,
                   phases: Sequence[str]) -> int:
    """How many member visits a run of `phases` has left: for each phase not yet done, the
    shard's members after its checkpoint (what `progress` will report, for a progress bar)."""
    r = t.sweep_runs.c
    m = t.members.c
    total = 0
    with ctx.uow(read_only=True) as uow:
        states = {row.phase: row for row in uow.connection.execute(select(t.sweep_runs).where(
            r.as_of == run_key(as_of), r.shard == str(shard), r.phase.in_(list(phases))))}
        for name in phases:
            state = states.get(name)
            if state is not None and state.done:
                continue
            query = select(func.count()).select_from(t.members).where(shard.predicate())
            if state is not None and state.cursor is not None:
                query = query.where(m.member_id > state.cursor)
            total += int(uow.connection.execute(query).scalar_one())
    return total


def ahead_problem(ctx: ServiceContext, as_of: datetime, now: datetime, *,
                  name: str = "as_of", allow: str = '"allow_future": true') -> str | None:
    """Why a sweep as of `as_of` must not run at `now` without being meant, if it must not:
    more than the future tolerance ahead, it would expire points and move members early, for
    good. The answer calls the instant `name` and the way to allow it `allow`."""
    ahead = as_of - now
    hours = ctx.settings.future_tolerance_hours
    if ahead <= timedelta(hours=hours):
        return None
    if ahead >= timedelta(days=2):
        span = f"{ahead.days} days"
    else:
        span = f"{ahead.total_seconds() / 3600:.1f} hours"
    return (f"{name} {as_of.isoformat()} is {span} ahead of now, more than the {hours:g} hours "
            "a sweep may run ahead; a sweep ahead of time expires points and moves members "
            f"early and cannot be undone; pass {allow} if this is intended.")


def refuse_ahead(ctx: ServiceContext, as_of: datetime, now: datetime) -> None:
    """Refuse (`ValidationFailed` on `as_of`) a sweep more than the future tolerance ahead."""
    problem = ahead_problem(ctx, as_of, now)
    if problem:
        raise ValidationFailed(problem, details={"fields": {"as_of": [problem]}})


def run_sweep(ctx: ServiceContext, as_of: datetime, *, shard: Shard | None = None,
              batch_size: int = 2000, phases: Sequence[Phase] | None = None,
              progress: Progress | None = None, allow_future: bool = True,
              actor: Actor | None = None) -> dict[str, Any]:
    """Run every phase as of `as_of` for one shard; returns what each phase changed.

    With `allow_future=False`, as the command line and the API ask unless told otherwise, an
    `as_of` more than the future tolerance ahead of the clock is refused before anything
    changes (`ValidationFailed` naming `as_of`)."""
    now = ctx.clock()
    if not allow_future:
        refuse_ahead(ctx, as_of, now)
    shard = shard or Shard()
    book = ctx.book(now)
    sweep = Sweep(ctx=ctx, book=book, as_of=as_of, now=now, shard=shard)
    sweep.previous_as_of = previous_sweep(ctx, shard, sweep.key)
    report: dict[str, Any] = {"as_of": sweep.key, "shard": str(shard),
                              "ruleset_version": book.version, "phases": {}}
    if phases is None:
        from loyalty.services.sweep.phases import default_phases

        phases = default_phases(book)
    log.info("sweep as of %s shard %s started (rules version %s)", sweep.key, shard,
             book.version)
    for phase in phases:
        report["phases"][phase.name] = dict(run_phase(sweep, phase, batch_size, progress))
    log.info("sweep as of %s shard %s finished", sweep.key, shard)
    if actor is not None:
        audit.record_alone(ctx, actor, "sweep.run", subject=f"as of {sweep.key}",
                           details={"shard": str(shard), "ruleset_version": book.version,
                                    "phases": report["phases"]})
    return report
