"""How many points each fired award is worth. Pure arithmetic on Decimal; results are integers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal

from loyalty.domain.decisions import AwardPoints, Decision, MultiplyPoints
from loyalty.domain.model import Line, Occurrence


def floor_points(value: Decimal) -> int:
    """Points are whole: fractions are dropped, never rounded up."""
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def line_share(effect: AwardPoints, line: Line) -> Decimal:
    """What one line adds to an award per unit or per currency unit, fractions kept."""
    if effect.per_unit is not None:
        return effect.per_unit * line.quantity
    if effect.rate is not None:
        return effect.rate * line.amount
    return Decimal("0")


def award_lines(effect: AwardPoints, decision: Decision,
                occurrence: Occurrence) -> tuple[int, ...]:
    """The lines an award counts: those its rule matched, or every line of the purchase."""
    if effect.lines_only:
        return decision.matched_lines
    return tuple(range(len(occurrence.lines)))


def _on_lines(effect: AwardPoints, lines: Iterable[int], occurrence: Occurrence) -> int:
    total = sum((line_share(effect, occurrence.lines[i]) for i in lines), start=Decimal("0"))
    return max(0, floor_points(total))


def award_value(effect: AwardPoints, decision: Decision, occurrence: Occurrence) -> int:
    if effect.fixed is not None:
        return effect.fixed
    if effect.rate is not None and not effect.lines_only:
        return max(0, floor_points(effect.rate * occurrence.total))
    return _on_lines(effect, award_lines(effect, decision, occurrence), occurrence)


def _multiplied(decisions: Sequence[Decision], points: Mapping[int, int], index: int,
                occurrence: Occurrence) -> int:
    """What a multiplier adds: (factor - 1) times the points of the awards it names. Limited
    to lines, it counts only what each award earned on those lines (never more than the award
    gave), and no fixed award."""
    multiplier = decisions[index]
    effect = multiplier.effect
    assert isinstance(effect, MultiplyPoints)
    targets = set(effect.rules)
    chosen = set(multiplier.matched_lines)
    base = 0
    for i, value in points.items():
        award = decisions[i].effect
        if not isinstance(award, AwardPoints) or (targets and decisions[i].rule_id not in targets):
            continue
        if effect.lines_only:
            if award.fixed is not None:
                continue
            shared = [j for j in award_lines(award, decisions[i], occurrence) if j in chosen]
            value = min(value, _on_lines(award, shared, occurrence))
        base += value
    return max(0, floor_points(Decimal(base) * (effect.factor - 1)))


def resolve_points(decisions: Sequence[Decision], occurrence: Occurrence) -> dict[int, int]:
    """Points of every award and multiplier decision, keyed by its index in `decisions`.

    Awards are valued first; each multiplier then adds (factor - 1) times the points of the
    awards it names (all awards when it names none), or, limited to lines, of their shares of
    those lines. Multipliers never compound on each other.
    """
    points: dict[int, int] = {}
    for index, decision in enumerate(decisions):
        if isinstance(decision.effect, AwardPoints):
            points[index] = award_value(decision.effect, decision, occurrence)
    for index, decision in enumerate(decisions):
        if isinstance(decision.effect, MultiplyPoints):
            points[index] = _multiplied(decisions, points, index, occurrence)
    return points


def unit_points(decisions: Sequence[Decision], points: Mapping[int, int],
                occurrence: Occurrence) -> dict[int, int]:
    """The points each line (by index) earned for its units: its share of every award per unit
    that gave points, with what the multipliers that gave points added to that share. A return
    takes these back per unit returned; fractions are dropped, so the lines never hold more
    than the awards gave."""
    multipliers = [(d, d.effect) for i, d in enumerate(decisions)
                   if isinstance(d.effect, MultiplyPoints) and points.get(i, 0) > 0]
    shares: dict[int, Decimal] = defaultdict(Decimal)
    for index, decision in enumerate(decisions):
        award = decision.effect
        if not isinstance(award, AwardPoints) or award.per_unit is None or not points.get(index):
            continue
        for line in award_lines(award, decision, occurrence):
            factor = Decimal(1) + sum(
                (max(Decimal(0), effect.factor - 1) for owner, effect in multipliers
                 if (not effect.rules or decision.rule_id in effect.rules)
                 and (not effect.lines_only or line in owner.matched_lines)),
                start=Decimal(0))
            shares[line] += line_share(award, occurrence.lines[line]) * factor
    whole = {line: floor_points(share) for line, share in shares.items()}
    return {line: value for line, value in sorted(whole.items()) if value > 0}
