"""Valuing awards: rates, fixed points, line-scoped rates and multipliers, all whole points."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from loyalty.domain.decisions import AwardPoints, Decision, Effect, MultiplyPoints
from loyalty.domain.effects import resolve_points
from loyalty.domain.model import Line, Occurrence

AT = datetime(2026, 11, 20, 14, 3, tzinfo=UTC)
SALE = Occurrence(
    kind="purchase", source_id="S1", occurred_at=AT, total=Decimal("4098.00"),
    lines=(Line("FRIDGE-300", "appliances", 1, Decimal("3999.00")),
           Line("FILTER-1", "accessories", 2, Decimal("49.50"))),
)


def decision(rule_id: str, effect: Effect, lines: tuple[int, ...] = ()) -> Decision:
    return Decision(rule_id, "earning", "1", effect, rule_id, 100, 0, matched_lines=lines)


def test_a_rate_per_currency_unit_drops_fractions() -> None:
    points = resolve_points([decision("base", AwardPoints(rate=Decimal("0.3")))], SALE)
    assert points == {0: 1229}


def test_a_line_scoped_rate_counts_only_the_matched_lines() -> None:
    effect = AwardPoints(rate=Decimal("2"), lines_only=True)
    assert resolve_points([decision("acc", effect, (1,))], SALE) == {0: 198}


def test_multipliers_add_to_the_named_awards_without_compounding() -> None:
    decisions = [
        decision("base", AwardPoints(rate=Decimal("1"))),
        decision("welcome", AwardPoints(fixed=100)),
        decision("gold", MultiplyPoints(Decimal("1.5"), ("base",))),
        decision("promo", MultiplyPoints(Decimal("2"))),
    ]
    assert resolve_points(decisions, SALE) == {0: 4098, 1: 100, 2: 2049, 3: 4198}


def test_an_award_of_neither_points_nor_a_rate_gives_nothing() -> None:
    assert resolve_points([decision("empty", AwardPoints())], SALE) == {0: 0}


def test_a_rate_on_less_than_one_point_s_worth_gives_nothing() -> None:
    small = Occurrence(kind="purchase", source_id="S2", occurred_at=AT, total=Decimal("0.99"),
                       lines=(Line("PIN", "gifts", 1, Decimal("0.99")),))
    effect = AwardPoints(rate=Decimal("1"), lines_only=True)
    assert resolve_points([decision("base", AwardPoints(rate=Decimal("1")))], small) == {0: 0}
    assert resolve_points([decision("acc", effect, (0,))], small) == {0: 0}
    assert resolve_points([decision("acc", effect, ())], SALE) == {0: 0}  # no line matched


def test_a_rate_on_a_negative_total_gives_nothing_rather_than_taking_points() -> None:
    credit = Occurrence(kind="purchase", source_id="S3", occurred_at=AT, total=Decimal("-50"))
    assert resolve_points([decision("base", AwardPoints(rate=Decimal("1")))], credit) == {0: 0}


def test_a_multiplier_of_nothing_or_below_one_adds_nothing() -> None:
    decisions = [
        decision("base", AwardPoints(rate=Decimal("1"), lines_only=True)),  # no line matched
        decision("gold", MultiplyPoints(Decimal("1.5"), ("base",))),
        decision("half", MultiplyPoints(Decimal("0.5"), ("base",))),
    ]
    assert resolve_points(decisions, SALE) == {0: 0, 1: 0, 2: 0}
    halved = [decision("base", AwardPoints(fixed=100)),
              decision("half", MultiplyPoints(Decimal("0.5")))]
    assert resolve_points(halved, SALE) == {0: 100, 1: 0}
