"""Points per unit and multipliers limited to lines: what the check accepts and refuses (with
file and line), what the engine decides, and how explain words them."""

from __future__ import annotations

from decimal import Decimal

from loyalty.domain.decisions import AwardPoints, MultiplyPoints
from loyalty.domain.effects import resolve_points
from loyalty.engine import build_rulebook, check_rules, explain
from tests.unit.engine.conftest import snapshot, with_program

FILTERS = ("FILTER-1", "filters", 2, "20")
SPA = ("SPA-60", "spa", 1, "300")
SHAMPOO = ("SHAMPOO-1", "haircare", 1, "100")

BASE = """  - id: base-earn
    description: 1 point for every 1 CNY spent
    priority: 10
    then:
      - award_points: {per_currency_unit: 1}
"""


def _set(*rules: str) -> dict[str, str]:
    return with_program({"shop.yaml": "ruleset: shop\non: [purchase]\nrules:\n" + "".join(rules)})


def _rule(rule_id: str, effect: str, priority: int = 30) -> str:
    return (f"  - id: {rule_id}\n    description: {rule_id}\n    priority: {priority}\n"
            f"    then:\n      - {effect}\n")


def _problems(files: dict[str, str]) -> list[str]:
    return [str(problem) for problem in check_rules(files)]


def test_points_per_unit_on_lines_count_the_units_of_the_matching_lines() -> None:
    files = _set(_rule("filter-points", "award_points: {per_unit: 50, on_lines: "
                                        "{fact: line.category, is: filters}}"))
    book = build_rulebook(files, "1")
    data = snapshot(lines=(SHAMPOO, FILTERS))
    (decision,) = book.evaluate(data)
    assert decision.effect == AwardPoints(per_unit=Decimal(50), lines_only=True)
    assert decision.matched_lines == (1,)
    assert resolve_points([decision], data.occurrence) == {0: 100}
    assert book.evaluate(snapshot(lines=(SHAMPOO,))) == []


def test_points_per_unit_without_lines_count_every_unit() -> None:
    book = build_rulebook(_set(_rule("units", "award_points: {per_unit: 0.5}")), "1")
    data = snapshot(lines=(SHAMPOO, FILTERS))
    (decision,) = book.evaluate(data)
    assert decision.effect == AwardPoints(per_unit=Decimal("0.5"))
    assert resolve_points([decision], data.occurrence) == {0: 1}


def test_a_line_multiplier_decides_with_its_own_matched_lines() -> None:
    files = _set(BASE, _rule("spa-double", "multiply_points: {by: 2, of: [base-earn], "
                                           "on_lines: {fact: line.category, is: spa}}"))
    book = build_rulebook(files, "1")
    data = snapshot(lines=(SHAMPOO, SPA))
    decisions = book.evaluate(data)
    assert [d.rule_id for d in decisions] == ["base-earn", "spa-double"]
    assert decisions[1].effect == MultiplyPoints(Decimal(2), ("base-earn",), lines_only=True)
    assert decisions[1].matched_lines == (1,)
    assert resolve_points(decisions, data.occurrence) == {0: 400, 1: 300}
    assert [d.rule_id for d in book.evaluate(snapshot(lines=(SHAMPOO,)))] == ["base-earn"]


def test_explain_words_points_per_unit_and_a_line_multiplier() -> None:
    files = _set(BASE, _rule("filter-points", "award_points: {per_unit: 50, on_lines: "
                                              "{fact: line.category, is: filters}}"),
                 _rule("filters-double", "multiply_points: {by: 2, on_lines: "
                                         "{fact: line.category, is: filters}}", priority=40))
    data = snapshot(lines=(SHAMPOO, FILTERS))
    decisions = build_rulebook(files, "1").evaluate(data)
    lines = explain(decisions, resolve_points(decisions, data.occurrence))
    assert "award 100 points (50 points per unit bought on matching lines) (on line 2)" in lines[1]
    assert ("multiply the points of all other awards on matching lines by 2: 140 extra points "
            "(on line 2)") in lines[2]


def test_an_award_with_points_per_unit_and_another_amount_is_a_problem_on_its_line() -> None:
    problems = _problems(_set(_rule("both", "award_points: {points: 5, per_unit: 50}")))
    assert problems == ["shop.yaml:8: rule 'both': award_points: give one of points (a fixed "
                        "number), per_currency_unit (a rate) or per_unit (points for every unit)"]


def test_fixed_points_on_lines_are_a_problem() -> None:
    problems = _problems(_set(_rule("fixed", "award_points: {points: 5, on_lines: "
                                             "{fact: line.category, is: spa}}")))
    assert len(problems) == 1 and "on_lines goes with per_currency_unit or per_unit" in problems[0]


def test_a_line_multiplier_with_a_wrong_line_test_is_a_problem() -> None:
    problems = _problems(_set(BASE, _rule("spa", "multiply_points: {by: 2, on_lines: "
                                                 "{fact: member.tier, is: gold}}")))
    assert len(problems) == 1 and problems[0].startswith("shop.yaml:13: rule 'spa':")


def test_a_line_multiplier_of_fixed_points_only_is_a_problem_naming_the_rule() -> None:
    files = _set(_rule("welcome", "award_points: {points: 100}"),
                 _rule("spa", "multiply_points: {by: 2, of: [welcome], on_lines: "
                              "{fact: line.category, is: spa}}"))
    assert _problems(files) == [
        "shop.yaml:13: rule 'spa': multiply_points on lines names rule 'welcome', which awards "
        "no points per currency unit or per unit: a multiplier limited to lines does not "
        "multiply fixed points, so it would add nothing"]


def test_a_line_multiplier_in_a_set_without_rates_or_units_is_a_problem() -> None:
    files = _set(_rule("welcome", "award_points: {points: 100}"),
                 _rule("spa", "multiply_points: {by: 2, on_lines: {fact: line.category, "
                              "is: spa}}"))
    problems = _problems(files)
    assert len(problems) == 1
    assert problems[0].startswith("shop.yaml:13: rule 'spa': multiply_points on lines would "
                                  "add nothing: no rule reacting to purchase events")


def test_a_line_multiplier_of_a_rate_or_of_units_passes_the_check() -> None:
    units = _rule("filter-points", "award_points: {per_unit: 50}")
    spa = _rule("spa", "multiply_points: {by: 2, of: [filter-points, base-earn], on_lines: "
                       "{fact: line.category, is: spa}}")
    assert _problems(_set(BASE, units, spa)) == []
