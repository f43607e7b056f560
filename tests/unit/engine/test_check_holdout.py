"""A rule's control group (`holdout`) is checked like its limit: each bad setting is a problem
with its file, line and rule, and a good one reaches the decisions."""

from __future__ import annotations

import pytest

from loyalty.domain.decisions import Holdout
from loyalty.engine import build_rulebook, check_rules
from tests.unit.engine.conftest import snapshot, with_program

RULE = """ruleset: x
on: [purchase]
rules:
  - id: thanks
    description: 50 points to thank you
    then:
      - award_points: {{points: 50}}
    holdout: {holdout}
"""


def _problems(holdout: str) -> list[str]:
    return [str(p) for p in check_rules(with_program({"x.yaml": RULE.format(holdout=holdout)}))]


@pytest.mark.parametrize("holdout, words", [
    ("{percent: 0, within_days: 60}", "'percent' must be a whole number from 1 to 50, got 0"),
    ("{percent: 51, within_days: 60}", "'percent' must be a whole number from 1 to 50, got 51"),
    ("{percent: 10.5, within_days: 60}", "'percent' must be a whole number"),
    ("{percent: ten, within_days: 60}", "'percent' must be a whole number"),
    ("{percent: true, within_days: 60}", "'percent' must be a whole number"),
    ("{percent: 10, within_days: 0}", "'within_days' must be a whole number from 1 to 365"),
    ("{percent: 10, within_days: 366}",
     "'within_days' must be a whole number from 1 to 365, got 366"),
    ("{percent: 10}", "'within_days' is required"),
    ("{within_days: 60}", "'percent' is required"),
])
def test_a_bad_holdout_setting_is_a_problem_with_file_line_and_rule(
        holdout: str, words: str) -> None:
    problems = _problems(holdout)
    assert len(problems) == 1, problems
    assert problems[0].startswith("x.yaml:8: rule 'thanks': holdout: "), problems
    assert words in problems[0]


def test_an_unknown_holdout_setting_is_named_with_a_suggestion() -> None:
    problems = _problems("{percent: 10, within_days: 60, within_day: 3}")
    assert problems == ["x.yaml:8: rule 'thanks': unknown setting 'within_day' in holdout "
                        "(did you mean 'within_days'?)"]


def test_a_holdout_that_is_not_a_mapping_is_a_problem() -> None:
    problems = _problems("10")
    assert problems == ["x.yaml:8: rule 'thanks': 'holdout' needs settings like "
                        "{percent: 10, within_days: 60}"]


def test_a_holdout_written_over_several_lines_is_reported_at_the_bad_setting() -> None:
    text = RULE.format(holdout="\n      percent: 10\n      within_days: 400")
    problems = [str(p) for p in check_rules(with_program({"x.yaml": text}))]
    assert len(problems) == 1 and problems[0].startswith("x.yaml:10: rule 'thanks': holdout:")


def test_the_edges_of_the_ranges_are_accepted_and_reach_every_decision_of_the_rule() -> None:
    for percent, days in ((1, 1), (50, 365)):
        text = RULE.format(holdout=f"{{percent: {percent}, within_days: {days}}}")
        book = build_rulebook(with_program({"x.yaml": text}), "1")
        decisions = book.evaluate(snapshot(lines=(("MUG", "homeware", 1, "100.00"),)))
        assert [d.holdout for d in decisions] == [Holdout(percent, days)]


def test_a_rule_without_a_holdout_holds_no_one_back(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    decisions = book.evaluate(snapshot(lines=(("MUG", "homeware", 1, "100.00"),)))
    assert decisions and all(d.holdout is None for d in decisions)


def test_the_standard_lapsed_winback_offer_sets_ten_percent_aside_for_sixty_days(
        pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    decisions = book.evaluate(snapshot("lifecycle_changed",
                                       attributes={"stage": "lapsed", "previous": "declining"}))
    lapsed = [d for d in decisions if d.rule_id == "winback-lapsed"]
    assert lapsed and all(d.holdout == Holdout(10, 60) for d in lapsed)
