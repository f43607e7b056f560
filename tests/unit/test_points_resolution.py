"""Valuing awards: rates, fixed points, points per unit, line-scoped rates and multipliers, all
whole points."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from loyalty.domain.decisions import AwardPoints, Decision, Effect, MultiplyPoints
from loyalty.domain.effects import resolve_points, unit_points
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


# ---- points per unit --------------------------------------------------------------------------


def test_points_per_unit_count_every_unit_of_every_line() -> None:
    effect = AwardPoints(per_unit=Decimal("50"))
    assert resolve_points([decision("units", effect)], SALE) == {0: 150}


def test_points_per_unit_on_lines_count_only_the_matched_lines_units() -> None:
    effect = AwardPoints(per_unit=Decimal("50"), lines_only=True)
    assert resolve_points([decision("filters", effect, (1,))], SALE) == {0: 100}
    assert resolve_points([decision("filters", effect, ())], SALE) == {0: 0}


def test_a_fraction_of_a_point_per_unit_is_dropped_not_rounded_up() -> None:
    assert resolve_points([decision("u", AwardPoints(per_unit=Decimal("2.5")))], SALE) == {0: 7}
    assert resolve_points([decision("u", AwardPoints(per_unit=Decimal("0.3")))], SALE) == {0: 0}


def test_points_per_unit_on_a_purchase_without_lines_give_nothing() -> None:
    bare = Occurrence(kind="purchase", source_id="S4", occurred_at=AT, total=Decimal("100"))
    assert resolve_points([decision("u", AwardPoints(per_unit=Decimal("50")))], bare) == {0: 0}


# ---- multipliers limited to lines ---------------------------------------------------------------


def test_a_line_multiplier_multiplies_only_the_matching_lines_share_of_a_rate() -> None:
    decisions = [
        decision("base", AwardPoints(rate=Decimal("1"))),
        decision("filters-double", MultiplyPoints(Decimal("2"), ("base",), lines_only=True),
                 (1,)),
    ]
    assert resolve_points(decisions, SALE) == {0: 4098, 1: 99}


def test_a_line_multiplier_drops_the_fraction_of_its_extra_points() -> None:
    decisions = [
        decision("base", AwardPoints(rate=Decimal("1"))),
        decision("filters-half", MultiplyPoints(Decimal("1.5"), lines_only=True), (1,)),
    ]
    assert resolve_points(decisions, SALE)[1] == 49  # 99 x 0.5 = 49.5


def test_a_line_multiplier_does_not_multiply_a_fixed_award() -> None:
    decisions = [
        decision("welcome", AwardPoints(fixed=100)),
        decision("all-double", MultiplyPoints(Decimal("2"), lines_only=True), (0, 1)),
    ]
    assert resolve_points(decisions, SALE) == {0: 100, 1: 0}


def test_a_line_multiplier_counts_only_lines_both_it_and_the_award_matched() -> None:
    fridge_rate = AwardPoints(rate=Decimal("2"), lines_only=True)
    on_filters = MultiplyPoints(Decimal("2"), ("fridge",), lines_only=True)
    apart = [decision("fridge", fridge_rate, (0,)), decision("x", on_filters, (1,))]
    assert resolve_points(apart, SALE) == {0: 7998, 1: 0}
    both = [decision("fridge", fridge_rate, (0,)), decision("x", on_filters, (0, 1))]
    assert resolve_points(both, SALE) == {0: 7998, 1: 7998}


def test_a_line_multiplier_doubles_the_matching_lines_points_per_unit() -> None:
    decisions = [
        decision("units", AwardPoints(per_unit=Decimal("50"))),
        decision("filters-double", MultiplyPoints(Decimal("2"), ("units",), lines_only=True),
                 (1,)),
    ]
    assert resolve_points(decisions, SALE) == {0: 150, 1: 100}


def test_a_line_multiplier_naming_no_award_counts_every_award_s_line_share() -> None:
    decisions = [
        decision("base", AwardPoints(rate=Decimal("1"))),
        decision("units", AwardPoints(per_unit=Decimal("50"))),
        decision("welcome", AwardPoints(fixed=100)),
        decision("filters-double", MultiplyPoints(Decimal("2"), lines_only=True), (1,)),
    ]
    assert resolve_points(decisions, SALE) == {0: 4098, 1: 150, 2: 100, 3: 199}


def test_a_line_s_share_never_counts_more_than_its_award_gave() -> None:
    discounted = Occurrence(kind="purchase", source_id="S5", occurred_at=AT, total=Decimal("50"),
                            lines=SALE.lines)
    decisions = [
        decision("base", AwardPoints(rate=Decimal("1"))),
        decision("filters-double", MultiplyPoints(Decimal("2"), lines_only=True), (1,)),
    ]
    assert resolve_points(decisions, discounted) == {0: 50, 1: 50}


# ---- what each line earned for its units --------------------------------------------------------


def test_each_line_holds_the_points_its_units_earned_with_their_multipliers() -> None:
    decisions = [
        decision("base", AwardPoints(rate=Decimal("1"))),
        decision("filters", AwardPoints(per_unit=Decimal("50"), lines_only=True), (1,)),
        decision("gold", MultiplyPoints(Decimal("1.5"), ("filters",))),
        decision("fridge-double", MultiplyPoints(Decimal("2"), lines_only=True), (0,)),
    ]
    points = resolve_points(decisions, SALE)
    assert points == {0: 4098, 1: 100, 2: 50, 3: 3999}
    assert unit_points(decisions, points, SALE) == {1: 150}


def test_lines_hold_no_unit_points_from_awards_that_gave_nothing_or_are_not_per_unit() -> None:
    units = decision("units", AwardPoints(per_unit=Decimal("0.3")))
    assert unit_points([units], resolve_points([units], SALE), SALE) == {}
    assert unit_points([decision("base", AwardPoints(rate=Decimal("1")))], {0: 4098}, SALE) == {}
