"""Valuing members: the models fitted once per sweep on a sample of members, then each batch of
members valued at once.

- Fit (once per sweep instant, kept in `sweep_runs` as shard `all`, phase `value-model`, so
  every shard and a resumed run use the same one): the purchase histories of up to
  `value.sample_size` members who have bought (spread over the member ids by their bucket)
  fit the purchase model (BG/NBD) and the spend model (Gamma-Gamma) of loyalty.domain.clv.
  The high/low thresholds are read off the same sample: the current value, and the potential
  value, of the member at rank ceil(N x percent / 100), best first, among those above zero.
- Value (each batch): a member who bought by the sweep's instant gets
  current value = spend net of returns over the last `current_days` (x `margin_percent` / 100
  with `current: margin`), potential value = predicted purchases over `horizon_days` x the
  predicted value of each (the same way), clv = the two together, and the segment of their
  quadrant. A member who never bought has no value (all null).
- History: a change of segment, and a move of clv or potential value into another 10% band
  (x1.1 steps), is kept in the member's history (`member_changes`, source `value`), so that
  backtests and explain see the value a member had at the time within 10%, and the segment
  exactly.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from loyalty.domain.clv import Array, ValueModel, fit, high_threshold, quadrant
from loyalty.domain.policy import ValuePolicy
from loyalty.services.context import ServiceContext
from loyalty.services.sweep.base import Batch
from loyalty.store import member_value as store
from loyalty.store import tables as t
from loyalty.store.member_value import Summary

log = logging.getLogger(__name__)

SHARD = "all"
MODEL_PHASE = "value-model"
DAY = 86_400.0
#: The width of the bands clv and potential value are recorded by: a value moving into another
#: band is recorded again, so the history holds every value within this factor.
RECORD_STEP = Decimal("1.1")


@dataclass(frozen=True)
class Histories:
    """Members' purchase histories as the models read them, one entry per member."""

    x: Array  # repeat purchase days
    t_x: Array  # days from the first purchase to the last
    age: Array  # days from the first purchase to the instant
    average: Array  # spend per purchase day, net of returns (not below 0)
    recent: Array  # spend over the current window, net of returns (not below 0)

    @classmethod
    def of(cls, rows: list[Summary], as_of: datetime) -> Histories:
        now = as_of.timestamp()
        first = np.array([row.first_at.timestamp() for row in rows], dtype=np.float64)
        last = np.array([row.last_at.timestamp() for row in rows], dtype=np.float64)
        days = np.array([row.days for row in rows], dtype=np.float64)
        net = np.array([row.net_units for row in rows], dtype=np.float64) / 10_000
        recent = np.array([row.recent_units for row in rows], dtype=np.float64) / 10_000
        return cls(x=np.maximum(days - 1, 0), t_x=(last - first) / DAY,
                   age=np.maximum((now - first) / DAY, 1e-6),
                   average=np.maximum(net, 0) / np.maximum(days, 1),
                   recent=np.maximum(recent, 0))


@dataclass(frozen=True)
class Valuation:
    """What a sweep values members with: the fitted models (None: nobody had bought) and the
    thresholds of "high"."""

    model: ValueModel | None
    current_threshold: float | None
    potential_threshold: float | None
    sample: int = 0

    def counts(self) -> dict[str, Any]:
        return {"model": None if self.model is None else self.model.parameters(),
                "current_threshold": self.current_threshold,
                "potential_threshold": self.potential_threshold, "sample": self.sample}

    @classmethod
    def from_counts(cls, counts: dict[str, Any]) -> Valuation:
        params = counts.get("model")
        return cls(None if params is None else ValueModel.from_parameters(params),
                   counts.get("current_threshold"), counts.get("potential_threshold"),
                   int(counts.get("sample", 0)))


def _factor(policy: ValuePolicy) -> float:
    return float(policy.margin_percent) / 100 if policy.current == "margin" else 1.0


def values(policy: ValuePolicy, model: ValueModel, histories: Histories) -> tuple[Array, Array]:
    """Current and potential value of each member, in money rounded to cents."""
    factor = _factor(policy)
    current = np.round(histories.recent * factor, 2)
    potential = model.potential(policy.horizon_days, histories.x, histories.t_x,
                                histories.age, histories.average)
    return current, np.round(potential * factor, 2)


def fit_valuation(conn: Connection, policy: ValuePolicy, as_of: datetime) -> Valuation:
    """Fit the models on the sample and read the thresholds off it."""
    began = time.perf_counter()
    ids = store.sample_ids(conn, policy.sample_size, as_of)
    rows = store.summaries(conn, ids, as_of, policy.current_days)
    if not rows:
        return Valuation(None, None, None, 0)
    histories = Histories.of(rows, as_of)
    if not np.any(histories.average > 0):
        # purchases that carry no money (a programme counting nights or tonnes with zero
        # totals): there is no spend to predict, so nobody is valued and the sweep goes on
        log.info("value models not fitted as of %s: no member of the sample spent money",
                 as_of.isoformat())
        return Valuation(None, None, None, len(rows))
    model = fit(histories.x, histories.t_x, histories.age, histories.average)
    current, potential = values(policy, model, histories)
    valuation = Valuation(model, high_threshold(current, float(policy.high_current_percent)),
                          high_threshold(potential, float(policy.high_potential_percent)),
                          len(rows))
    log.info("value models fitted as of %s on %d members in %.2f s: %s", as_of.isoformat(),
             len(rows), time.perf_counter() - began, valuation.counts())
    return valuation


def _stored(conn: Connection, key: str) -> Any:
    r = t.sweep_runs.c
    return conn.execute(select(r.counts).where(
        r.as_of == key, r.shard == SHARD, r.phase == MODEL_PHASE)).scalar()


def valuation_for(ctx: ServiceContext, policy: ValuePolicy, as_of: datetime, key: str,
                  now: datetime) -> Valuation:
    """The valuation stored for this sweep instant, or a new one fitted and stored (the first
    shard to store it wins)."""
    with ctx.uow(read_only=True) as uow:
        counts = _stored(uow.connection, key)
        if counts is not None:
            return Valuation.from_counts(counts)
        valuation = fit_valuation(uow.connection, policy, as_of)
    try:
        with ctx.uow() as uow:
            uow.connection.execute(insert(t.sweep_runs).values(
                as_of=key, shard=SHARD, phase=MODEL_PHASE, cursor=None, done=True,
                counts=valuation.counts(), started_at=now, finished_at=now))
            uow.commit()
    except IntegrityError:  # another shard stored one first: theirs is the one
        with ctx.uow(read_only=True) as uow:
            return Valuation.from_counts(_stored(uow.connection, key))
    return valuation


def segment(policy: ValuePolicy, valuation: Valuation, current: float,
            potential: float) -> str:
    """The name of the member's quadrant (value.segments)."""
    high_current = valuation.current_threshold is not None and current > 0 \
        and current >= valuation.current_threshold
    high_potential = valuation.potential_threshold is not None and potential > 0 \
        and potential >= valuation.potential_threshold
    return str(getattr(policy.segments, quadrant(high_current, high_potential)))


def band(value: Decimal | None) -> int | None:
    """Which x1.1 band a value is in (-1: zero or less; None: no value)."""
    if value is None:
        return None
    if value <= 0:
        return -1
    return math.floor(math.log(float(value)) / math.log(float(RECORD_STEP)))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _cents(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def value_batch(conn: Connection, policy: ValuePolicy, valuation: Valuation, as_of: datetime,
                batch: Batch) -> Counter[str]:
    """Value the batch's members as of `as_of`, record what changed in their history, and
    return counts: valued, unvalued, changed (segment), to_<segment>, recorded."""
    counts: Counter[str] = Counter()
    found = store.batch_rows(conn, batch.members(), batch.member_ids(), (batch.lo, batch.hi),
                             as_of, policy.current_days)
    if not found:
        return counts
    priced = [(row, summary) for row, summary in found
              if summary is not None and valuation.model is not None]
    new: dict[str, tuple[Decimal | None, Decimal | None, Decimal | None, str | None]] = {
        row.member_id: (None, None, None, None) for row, _ in found}
    if priced:
        histories = Histories.of([summary for _, summary in priced], as_of)
        assert valuation.model is not None
        current, potential = values(policy, valuation.model, histories)
        for (row, _), now_value, to_come in zip(priced, current.tolist(), potential.tolist(),
                                                strict=True):
            new[row.member_id] = (_cents(now_value), _cents(to_come),
                                  _cents(now_value) + _cents(to_come),
                                  segment(policy, valuation, now_value, to_come))
    updates: list[dict[str, Any]] = []
    changes: list[tuple[str, str, Any, Any]] = []
    for row, _ in found:
        now_money, to_come_money, clv, named = new[row.member_id]
        if clv is None and row.value_at is None:
            continue
        updates.append({"b_id": row.member_id, "b_current": now_money,
                        "b_potential": to_come_money, "b_clv": clv, "b_segment": named,
                        "b_at": None if clv is None else as_of})
        counts["valued" if clv is not None else "unvalued"] += 1
        if named != row.value_segment:
            changes.append((row.member_id, "value_segment", row.value_segment, named))
            counts["changed"] += 1
            if named is not None:
                counts[f"to_{named}"] += 1
        for field, old, value in (("clv", row.clv, clv),
                                  ("potential_value", row.potential_value, to_come_money)):
            if band(old) != band(value):
                changes.append((row.member_id, field, _text(old), _text(value)))
    store.write_values(conn, updates)
    counts["recorded"] += store.record_changes(conn, changes, as_of)
    return counts
