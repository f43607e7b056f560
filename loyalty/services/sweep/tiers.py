"""Tier requalification, set-based: the notice before a downgrade, and the downgrade after the
grace period. Upgrades happen at the till, the moment a purchase qualifies; never here.

- Review: a member above the lowest tier is reviewed at `tier_review_at`: the anniversary of
  reaching the tier (`requalification: anniversary`) or 1 January 00:00 UTC after the year
  they reached it (`calendar_year`). When `tier_review_at` is missing (or older than
  `tier_since`, i.e. left over from an earlier tier) it is derived from `tier_since`.
- Metric: the ladder's metric as of the sweep's instant: spend_30d/90d/365d is the net total
  of transactions (returns subtract) in (as_of - N days, as_of]; visits_* counts purchases in
  that window; lifetime_spend and lifetime_visits count everything up to as_of;
  points_lifetime is the member's lifetime points; points_365d the points purchases earned in
  the window, less what returns in the window took back. A metric program.yaml declares
  (`nights_365d`) counts the purchases or events in the window as
  store/metric_queries.py does. A level's `or:` metrics are worked out too: reaching any one
  of the tier's thresholds holds it.
- Notice: from `notice_days` before the downgrade (the end of the grace period) until then, a
  member whose metric, as it will stand when the grace period ends if they buy nothing more
  (a window metric keeps only what will still be inside the window then), is below their
  tier's threshold gets one `downgrade_notice` per review (attributes `tier`, `to`, `review_at`,
  `downgrade_at`); `tier_notice_for` remembers the review. Buying enough before the end of the
  grace period keeps the tier.
- Review due (as_of >= review + grace_days): a member whose metric still holds the tier is
  requalified: no history, the next review is the following anniversary or year end (the first
  one whose grace period has not already ended). Otherwise the member goes down one step
  (`one_step`) or to the tier the metric earns (`recalculate`), with a tier history row giving
  the reason, a new review from the day of the change, and a `tier_changed` event
  (`direction: down`).

A second run for the same instant finds nothing to do: every decision moves the review on or
records the notice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)

from loyalty.domain.metrics import amount
from loyalty.domain.policy import METRIC_PERIODS, MetricDef, TierLadder, figure_of
from loyalty.domain.tiers import Review, decide, next_review, review_after, threshold
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.store import tables as t
from loyalty.store.metric_queries import metric_rows
from loyalty.store.repositories import net_points
from loyalty.store.types import UTCDateTime, from_units
from loyalty.store.uow import SqlUnitOfWork

m = t.members.c
tx = t.transactions.c

WINDOW_DAYS = {"spend_30d": 30, "spend_90d": 90, "spend_365d": 365,
               "visits_30d": 30, "visits_90d": 90, "visits_365d": 365, "points_365d": 365}
RULE_ID = "tiers.requalification"


def is_money(metric: str) -> bool:
    return "spend" in metric or metric == "clv"


def is_points(metric: str) -> bool:
    return metric.startswith("points_")


def _counted(metric: str, as_of: datetime, days: int | None) -> tuple[Any, list[Any]]:
    """What one transaction adds to `metric` (money in units), and which transactions up to
    `as_of` (within `days` of it, when given) count: visits count purchases only."""
    conditions = [tx.occurred_at <= as_of]
    if days is not None:
        conditions.append(tx.occurred_at > as_of - timedelta(days=days))
    if is_money(metric):
        return type_coerce(tx.total, BigInteger), conditions
    if is_points(metric):
        return net_points(tx), conditions
    return literal_column("1"), [*conditions, tx.type == "purchase"]


def metric_select(metric: str, as_of: datetime, member_ids: Any,
                  declared: Sequence[MetricDef] = ()) -> Any:
    """A SELECT of (member_id, value) for the members in `member_ids` that have a value;
    money comes as integer units (see `metric_value`); `declared` are the programme's own
    metrics."""
    found = figure_of(declared, metric)
    if found is not None:
        rows = metric_rows(found[0], member_ids, as_of).subquery()
        days = METRIC_PERIODS[found[1]]
        within = [] if days is None else [rows.c.occurred_at > as_of - timedelta(days=days)]
        return (select(rows.c.member_id.label("member_id"), func.sum(rows.c.amount).label("value"))
                .where(*within).group_by(rows.c.member_id))
    if metric == "points_lifetime":
        return select(m.member_id, m.points_lifetime.label("value")).where(
            m.member_id.in_(member_ids))
    if metric == "clv":  # as the sweep's value phase left it (VIP only)
        return select(m.member_id, type_coerce(m.clv, BigInteger).label("value")).where(
            m.member_id.in_(member_ids), m.clv.is_not(None))
    amount, conditions = _counted(metric, as_of, WINDOW_DAYS.get(metric))
    return select(tx.member_id.label("member_id"), func.sum(amount).label("value")).where(
        tx.member_id.in_(member_ids), *conditions).group_by(tx.member_id)


def metric_value(metric: str, raw: Any, declared: Sequence[MetricDef] = ()) -> Decimal:
    """A value of `metric_select` as a Decimal (money back from units)."""
    found = figure_of(declared, metric)
    if found is not None:
        return amount(found[0], int(raw or 0))
    if is_money(metric):
        return from_units(raw)
    return Decimal(int(raw or 0))


def metric_values(uow: SqlUnitOfWork, metric: str, as_of: datetime, member_ids: Any,
                  declared: Sequence[MetricDef] = ()) -> dict[str, Decimal]:
    """The metric of each member in `member_ids` (absent: no activity, i.e. zero)."""
    rows = uow.connection.execute(metric_select(metric, as_of, member_ids, declared)).all()
    return {row.member_id: metric_value(metric, row.value, declared) for row in rows}


def projected_values(uow: SqlUnitOfWork, metric: str, as_of: datetime,
                     until: dict[str, datetime],
                     declared: Sequence[MetricDef] = ()) -> dict[str, Decimal]:
    """Each member's metric as it will stand at `until[member]` if nothing more is bought: a
    window metric keeps only what is still inside the window then."""
    found = figure_of(declared, metric)
    days = WINDOW_DAYS.get(metric) if found is None else METRIC_PERIODS[found[1]]
    if days is None:
        return metric_values(uow, metric, as_of, list(until), declared)
    if found is not None:
        counted = metric_rows(found[0], list(until), as_of).subquery()
        query = select(counted.c.member_id, counted.c.occurred_at,
                       counted.c.amount.label("units")).where(
            counted.c.occurred_at > as_of - timedelta(days=days))
    else:
        units, conditions = _counted(metric, as_of, days)
        query = select(tx.member_id, tx.occurred_at, units.label("units")).where(
            tx.member_id.in_(list(until)), *conditions)
    raw: dict[str, int] = {}
    for row in uow.connection.execute(query).all():
        if row.occurred_at > until[row.member_id] - timedelta(days=days):
            raw[row.member_id] = raw.get(row.member_id, 0) + int(row.units)
    return {member_id: metric_value(metric, value, declared) for member_id, value in raw.items()}


def _reason(ladder: TierLadder, tier: str, review_at: datetime,
            figures: Mapping[str, Decimal]) -> str:
    level = ladder.levels[ladder.rank(tier)]
    below = [f"{ladder.metric} {figures[ladder.metric]} below {tier}'s {threshold(ladder, tier)}"]
    below += [f"{name} {figures[name]} below {wanted}" for name, wanted in level.alternatives]
    return f"requalification on {review_at.date().isoformat()}: " + ", ".join(below)


def review_of(ladder: TierLadder, row: Any) -> datetime:
    """The member's review: as stored, or derived from tier_since when missing or stale."""
    stored: datetime | None = row.tier_review_at
    if stored is not None and (row.tier_since is None or stored > row.tier_since):
        return stored
    derived = next_review(ladder, row.tier_since or row.enrolled_at)
    assert derived is not None  # a ladder always gives a review when no tier is named
    return derived


def _update(**columns: Any) -> Any:
    """An UPDATE of one member per parameter set (executemany), keyed by `b_id`."""
    return update(t.members).where(m.member_id == bindparam("b_id")).values(**columns)


def _at(name: str) -> Any:
    return bindparam(name, type_=UTCDateTime())


class TierPhase:
    """Warn before a downgrade, then requalify or downgrade once the grace period is over."""

    name = "tiers"

    def prepare(self, sweep: Sweep) -> None:
        return None

    def candidates(self, sweep: Sweep, uow: SqlUnitOfWork, ladder: TierLadder,
                   batch: Batch) -> list[Any]:
        """Members of the batch above the lowest tier whose review may be near or past."""
        bound = sweep.as_of + timedelta(days=max(ladder.notice_days - ladder.grace_days, 0))
        # Without a stored review, the review is at least 365 days (a year) after tier_since.
        since_bound = bound - timedelta(days=365) if ladder.requalification == "anniversary" \
            else bound
        missing = or_(m.tier_review_at.is_(None), m.tier_review_at <= m.tier_since)
        upper = [level.tier for level in ladder.levels[1:]]
        return list(uow.connection.execute(
            select(m.member_id, m.tier, m.tier_since, m.enrolled_at, m.tier_review_at,
                   m.tier_notice_for)
            .where(batch.members(), m.tier.in_(upper),
                   or_(m.tier_review_at <= bound,
                       and_(missing, func.coalesce(m.tier_since, m.enrolled_at) <= since_bound)))
            .order_by(m.member_id)
        ).all())

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        counts: Counter[str] = Counter()
        ladder = sweep.book.policy.tiers
        if ladder is None or len(ladder.levels) < 2:
            return counts
        rows = self.candidates(sweep, uow, ladder, batch)
        if not rows:
            return counts
        as_of = sweep.as_of
        grace = timedelta(days=ladder.grace_days)
        reviews = {row.member_id: review_of(ladder, row) for row in rows}
        due = {row.member_id for row in rows if as_of >= reviews[row.member_id] + grace}
        warn = {row.member_id: reviews[row.member_id] + grace for row in rows
                if as_of < reviews[row.member_id] + grace
                and as_of >= reviews[row.member_id] + grace - timedelta(days=ladder.notice_days)
                and row.tier_notice_for != reviews[row.member_id]}
        declared = sweep.book.policy.metrics
        values: dict[str, dict[str, Decimal]] = {}
        for metric in ladder.metrics:
            values[metric] = metric_values(uow, metric, as_of, sorted(due), declared) \
                if due else {}
            if warn:
                values[metric].update(projected_values(uow, metric, as_of, warn, declared))
        zero = {metric: metric_value(metric, 0, declared) for metric in ladder.metrics}
        decisions: list[tuple[Any, Review, Mapping[str, Decimal]]] = []
        for row in rows:
            if row.member_id not in warn and row.member_id not in due:
                continue
            figures = {metric: values[metric].get(row.member_id, zero[metric])
                       for metric in ladder.metrics}
            review = decide(ladder, row.tier, reviews[row.member_id], figures, as_of,
                            row.tier_notice_for)
            if review.action != "none":
                decisions.append((row, review, figures))
        self.apply(sweep, uow, ladder, decisions, counts)
        return counts

    def apply(self, sweep: Sweep, uow: SqlUnitOfWork, ladder: TierLadder,
              decisions: list[tuple[Any, Review, Mapping[str, Decimal]]],
              counts: Counter[str]) -> None:
        """Write every decision of the batch, a statement per kind, then raise the events."""
        conn = uow.connection
        as_of = sweep.as_of
        notices = [{"b_id": row.member_id, "b_review": r.review_at}
                   for row, r, _ in decisions if r.action == "notice"]
        requalified = [{"b_id": row.member_id, "b_review": review_after(ladder, r.review_at, as_of)}
                       for row, r, _ in decisions if r.action == "requalify"]
        downgrades = [(row, r, value) for row, r, value in decisions if r.action == "downgrade"]
        if notices:
            conn.execute(_update(tier_review_at=_at("b_review"), tier_notice_for=_at("b_review")),
                         notices)
            counts["notices"] += len(notices)
        if requalified:
            conn.execute(_update(tier_review_at=_at("b_review"), tier_notice_for=None),
                         requalified)
            counts["requalified"] += len(requalified)
        if downgrades:
            conn.execute(insert(t.tier_history), [{
                "member_id": row.member_id, "from_tier": row.tier, "to_tier": r.target,
                "changed_at": as_of, "reason": _reason(ladder, row.tier, r.review_at, value),
                "source_id": f"sweep:{sweep.key}", "rule_id": RULE_ID,
                "ruleset_version": sweep.book.version,
            } for row, r, value in downgrades])
            conn.execute(_update(tier=bindparam("b_tier"), tier_since=as_of,
                                 tier_review_at=_at("b_review"), tier_notice_for=None), [{
                "b_id": row.member_id, "b_tier": r.target,
                "b_review": next_review(ladder, as_of, r.target),
            } for row, r, _ in downgrades])
            counts["downgraded"] += len(downgrades)
            for _, r, _ in downgrades:
                counts[f"to_{r.target}"] += 1
        for row, r, _ in decisions:
            review_iso = r.review_at.isoformat()
            if r.action == "notice":
                downgrade_at = r.review_at + timedelta(days=ladder.grace_days)
                raised = sweep.emit(uow, row.member_id, "downgrade_notice", review_iso, {
                    "tier": row.tier, "to": r.target, "review_at": review_iso,
                    "downgrade_at": downgrade_at.isoformat()})
            elif r.action == "downgrade":
                raised = sweep.emit(uow, row.member_id, "tier_changed", review_iso, {
                    "from": row.tier, "to": r.target, "direction": "down"})
            else:
                continue
            if raised:
                counts["events"] += 1
