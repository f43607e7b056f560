"""Who is VIP as of the sweep's instant: the top of the pyramid by rank, and/or everyone above a
value, from the eligible tiers. Joining or leaving the VIPs raises `vip_changed`.

- Eligible: members in one of `vip.tiers` (every member when the list is empty) whose metric
  (computed as for tiers, as of the sweep's instant; a metric program.yaml declares, such as
  `nights_365d`, too) is above zero.
- Rank threshold: with `top_percent`, the metric of the member at rank
  ceil(N * top_percent / 100) among the N eligible members, best first. It is computed once per
  instant for all members and kept in `sweep_runs` (shard `all`, phase `vip-threshold`), so every
  shard and a resumed run use the same one. Members tied with that rank are all in.
- Tags: members carrying one of `vip.tags` (rules add and remove them with add_tag and
  remove_tag) are VIP whatever their tier and rank; the ranking itself is unchanged.
- VIP: tagged, or eligible and (metric >= the rank threshold, or metric >= `min_value`). A
  member who is VIP already stays while eligible and their metric is no more than
  `leave_margin_percent` below the lower of the two (see loyalty.domain.vip); one who leaves the
  eligible tiers, or whose metric is zero, leaves at once. A member who becomes VIP gets
  `vip_since` = the sweep's instant; one who drops out loses it.
  Each change raises `vip_changed` (attributes `vip`, `metric`) once per instant; rules grant
  and withdraw the privileges.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from loyalty.domain.policy import VipPolicy
from loyalty.domain.vip import is_vip
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.services.sweep.tiers import metric_select, metric_value, metric_values
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

m = t.members.c
r = t.sweep_runs.c
SHARD = "all"
THRESHOLD_PHASE = "vip-threshold"


def eligible(policy: VipPolicy) -> Any:
    """A predicate on members: in a tier VIPs may come from."""
    return m.tier.in_(policy.tiers) if policy.tiers else true()


def compute_threshold(uow: SqlUnitOfWork, sweep: Sweep) -> tuple[Decimal | None, int]:
    """The rank threshold over every member (not just this shard), and how many are eligible."""
    policy = sweep.book.policy.vip
    declared = sweep.book.policy.metrics
    values = metric_select(policy.metric, sweep.as_of,
                           select(m.member_id).where(eligible(policy)), declared).subquery()
    conn = uow.connection
    count = int(conn.execute(select(func.count()).select_from(values)
                             .where(values.c.value > 0)).scalar_one())
    if policy.top_percent is None or count == 0:
        return None, count
    rank = math.ceil(Decimal(count) * policy.top_percent / 100)
    if rank < 1:
        return None, count
    raw = conn.execute(select(values.c.value).where(values.c.value > 0)
                       .order_by(values.c.value.desc()).offset(rank - 1).limit(1)).scalar_one()
    return metric_value(policy.metric, raw, declared), count


def _stored(uow: SqlUnitOfWork, sweep: Sweep) -> Any:
    return uow.connection.execute(select(t.sweep_runs.c.counts).where(
        r.as_of == sweep.key, r.shard == SHARD, r.phase == THRESHOLD_PHASE)).scalar()


def _parse(counts: dict[str, Any]) -> Decimal | None:
    value = counts.get("threshold")
    return None if value is None else Decimal(value)


def rank_threshold(sweep: Sweep) -> Decimal | None:
    """The stored threshold for this instant, or a new one computed and stored."""
    ctx = sweep.ctx
    with ctx.uow(read_only=True) as uow:
        counts = _stored(uow, sweep)
        if counts is not None:
            return _parse(counts)
        value, count = compute_threshold(uow, sweep)
    counts = {"threshold": None if value is None else str(value), "eligible": count}
    try:
        with ctx.uow() as uow:
            uow.connection.execute(insert(t.sweep_runs).values(
                as_of=sweep.key, shard=SHARD, phase=THRESHOLD_PHASE, cursor=None, done=True,
                counts=counts, started_at=sweep.now, finished_at=sweep.now))
            uow.commit()
    except IntegrityError:  # another shard stored it first: theirs is the one
        with ctx.uow(read_only=True) as uow:
            counts = _stored(uow, sweep)
    log.info("vip threshold as of %s: %s", sweep.key, counts)
    return _parse(counts)


class VipPhase:
    """Make members VIP or not, by rank and by value; rules react to each change."""

    name = "vip"

    def __init__(self) -> None:
        self.thresholds: dict[str, Decimal | None] = {}

    def prepare(self, sweep: Sweep) -> None:
        self.thresholds[sweep.key] = rank_threshold(sweep)

    def threshold(self, sweep: Sweep) -> Decimal | None:
        if sweep.key not in self.thresholds:
            self.prepare(sweep)
        return self.thresholds[sweep.key]

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        counts: Counter[str] = Counter()
        policy = sweep.book.policy.vip
        rank_value = self.threshold(sweep)
        conn = uow.connection
        query = select(m.member_id, m.vip, m.tags, eligible(policy).label("eligible")).where(
            batch.members())
        if not policy.tags:  # tags are JSON: with tag criteria, every member is looked at
            query = query.where((m.vip.is_(True)) | eligible(policy))
        rows = conn.execute(query.order_by(m.member_id)).all()
        ids = [row.member_id for row in rows]
        declared = sweep.book.policy.metrics
        values = metric_values(uow, policy.metric, sweep.as_of, ids, declared) if ids else {}
        joining: list[str] = []
        leaving: list[str] = []
        for row in rows:
            value = values.get(row.member_id, Decimal(0))
            tagged = any(tag in (row.tags or ()) for tag in policy.tags)
            vip = is_vip(policy, value=value, rank_threshold=rank_value,
                         eligible=bool(row.eligible), tagged=tagged, was_vip=bool(row.vip))
            if vip and not row.vip:
                joining.append(row.member_id)
            elif row.vip and not vip:
                leaving.append(row.member_id)
        if joining:
            conn.execute(update(t.members).where(m.member_id.in_(joining))
                         .values(vip=True, vip_since=sweep.as_of))
            counts["joined"] += len(joining)
        if leaving:
            conn.execute(update(t.members).where(m.member_id.in_(leaving))
                         .values(vip=False, vip_since=None))
            counts["left"] += len(leaving)
        joined = set(joining)
        for member_id in sorted(joined.union(leaving)):
            vip = member_id in joined
            value = values.get(member_id, Decimal(0))
            if sweep.emit(uow, member_id, "vip_changed", sweep.key,
                          {"vip": vip, "metric": str(value)}):
                counts["events"] += 1
        return counts
