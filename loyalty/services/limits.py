"""Rule limits: how often a rule may apply to one member, and campaign budgets in points."""

from __future__ import annotations

from collections.abc import Sequence

from loyalty.domain.decisions import Decision, Period
from loyalty.domain.effects import resolve_points
from loyalty.domain.model import Occurrence
from loyalty.store.uow import SqlUnitOfWork


def period_key(period: Period, occurrence: Occurrence) -> str:
    day = occurrence.occurred_at.date()
    return {"ever": "ever", "day": day.isoformat(), "month": day.strftime("%Y-%m"),
            "year": str(day.year)}[period]


def apply_limits(uow: SqlUnitOfWork, member_id: str, decisions: Sequence[Decision],
                 occurrence: Occurrence) -> tuple[list[Decision], dict[int, int]]:
    """Drop decisions of rules that reached their limit; record the use of the others.

    Returns the decisions that apply and the points of each award (by index in that list).
    """
    limited = {d.rule_id: d.limit for d in decisions if d.limit is not None}
    keys = {rule: period_key(limit.period, occurrence)
            for rule, limit in limited.items() if limit.times is not None}
    usage = uow.programme.usage(member_id, list(keys.items()))
    blocked = {rule for rule, key in keys.items()
               if usage.get((rule, key), 0) >= (limited[rule].times or 0)}
    kept = [d for d in decisions if d.rule_id not in blocked]
    points = resolve_points(kept, occurrence)
    budgets = {rule: limit.budget_points for rule, limit in limited.items()
               if limit.budget_points is not None and rule not in blocked}
    if budgets:
        over: set[str] = set()
        for rule, budget in sorted(budgets.items()):
            used = uow.programme.lock_budget(rule)
            wanted = sum(points.get(i, 0) for i, d in enumerate(kept) if d.rule_id == rule)
            if used + wanted > (budget or 0):
                over.add(rule)
        if over:
            kept = [d for d in kept if d.rule_id not in over]
            points = resolve_points(kept, occurrence)
        for rule in budgets.keys() - over:
            wanted = sum(points.get(i, 0) for i, d in enumerate(kept) if d.rule_id == rule)
            uow.programme.spend_budget(rule, wanted)
    applied = {d.rule_id for d in kept}
    for rule, key in keys.items():
        if rule in applied:
            rule_points = sum(points.get(i, 0) for i, d in enumerate(kept) if d.rule_id == rule)
            uow.programme.add_usage(member_id, rule, key, rule_points,
                                    existing=(rule, key) in usage)
    return kept, points
