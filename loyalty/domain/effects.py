"""How many points each fired award is worth. Pure arithmetic on Decimal; results are integers."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from loyalty.domain.decisions import AwardPoints, Decision, MultiplyPoints
from loyalty.domain.model import Occurrence


def floor_points(value: Decimal) -> int:
    """Points are whole: fractions are dropped, never rounded up."""
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def award_value(effect: AwardPoints, decision: Decision, occurrence: Occurrence) -> int:
    if effect.fixed is not None:
        return effect.fixed
    if effect.rate is None:
        return 0
    if effect.lines_only:
        base = sum(
            (occurrence.lines[i].amount for i in decision.matched_lines), start=Decimal("0")
        )
    else:
        base = occurrence.total
    return max(0, floor_points(effect.rate * base))


def resolve_points(decisions: Sequence[Decision], occurrence: Occurrence) -> dict[int, int]:
    """Points of every award and multiplier decision, keyed by its index in `decisions`.

    Awards are valued first; each multiplier then adds (factor - 1) times the points of the
    awards it names (all awards when it names none). Multipliers never compound on each other.
    """
    points: dict[int, int] = {}
    for index, decision in enumerate(decisions):
        if isinstance(decision.effect, AwardPoints):
            points[index] = award_value(decision.effect, decision, occurrence)
    for index, decision in enumerate(decisions):
        effect = decision.effect
        if not isinstance(effect, MultiplyPoints):
            continue
        targets = set(effect.rules)
        base = sum(
            value
            for i, value in points.items()
            if isinstance(decisions[i].effect, AwardPoints)
            and (not targets or decisions[i].rule_id in targets)
        )
        points[index] = max(0, floor_points(Decimal(base) * (effect.factor - 1)))
    return points
