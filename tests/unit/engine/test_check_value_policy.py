"""program.yaml `value:`: how members are valued and the names of the value segments; every
number within its range, each mistake a problem on its line; rules naming a segment checked
against the names the programme gives them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.domain.policy import ValuePolicy, ValueSegments
from loyalty.engine import program_policy, read_rule_dir
from loyalty.engine.rulebook import check_rules
from tests.conftest import RULES_DIR

SEGMENT_RULE = """
ruleset: value
description: Rules on the value segment.
on: [purchase]
rules:
  - id: grow-bonus
    description: 100 points for a member to grow
    when:
      - {fact: member.value_segment, is: SEGMENT}
      - {fact: member.clv, above: 1000}
      - {fact: member.potential_value, at_least: 500}
    then:
      - award_points: {points: 100}
"""


def files_with(*changes: tuple[str, str]) -> dict[str, str]:
    files = read_rule_dir(RULES_DIR)
    for written, instead in changes:
        assert written in files["program.yaml"], written
        files["program.yaml"] = files["program.yaml"].replace(written, instead, 1)
    return files


def test_the_bundled_programme_values_members_as_documented() -> None:
    policy = program_policy(read_rule_dir(RULES_DIR)).value
    assert policy == ValuePolicy()
    assert policy == ValuePolicy(
        current="spend", margin_percent=Decimal(25), current_days=365, horizon_days=365,
        high_current_percent=Decimal(20), high_potential_percent=Decimal(20),
        segments=ValueSegments("keep", "grow", "maintain", "reduce-cost"), sample_size=50_000)


def test_a_programme_without_a_value_block_takes_the_defaults() -> None:
    files = read_rule_dir(RULES_DIR)
    start = files["program.yaml"].index("\nvalue:")
    end = files["program.yaml"].index("  sample_size: 50000")
    files["program.yaml"] = (files["program.yaml"][:start]
                             + files["program.yaml"][end:].split("\n", 1)[1])
    assert [str(p) for p in check_rules(files)] == []
    assert program_policy(files).value == ValuePolicy()


VALUE_EDGES = [
    ("  current: spend ", "  current: profit ",
     "value.current is one of spend, margin, not 'profit'"),
    ("  margin_percent: 25 ", "  margin_percent: 0 ",
     "value.margin_percent must be a number from 1 to 100, got 0"),
    ("  margin_percent: 25 ", "  margin_percent: .nan ",
     "value.margin_percent must be a number from 1 to 100, got nan"),
    ("  current_days: 365", "  current_days: 0",
     "value.current_days must be a whole number from 1 to 3,650, got 0"),
    ("  horizon_days: 365", "  horizon_days: 36500",
     "value.horizon_days must be a whole number from 1 to 3,650, got 36500"),
    ("  horizon_days: 365", "  horizon_days: 90.5",
     "value.horizon_days must be a whole number from 1 to 3,650, got 90.5"),
    ("  high_current_percent: 20 ", "  high_current_percent: 100 ",
     "value.high_current_percent must be a number from 1 to 99, got 100"),
    ("  high_potential_percent: 20 ", "  high_potential_percent: .inf ",
     "value.high_potential_percent must be a number from 1 to 99, got inf"),
    ("  sample_size: 50000 ", "  sample_size: 10 ",
     "value.sample_size must be a whole number from 1,000 to 1,000,000, got 10"),
    ("  sample_size: 50000 ", "  sample_size: fifty ",
     "value.sample_size must be a whole number from 1,000 to 1,000,000, got 'fifty'"),
    ("  sample_size: 50000 ", "  sampel_size: 50000 ",
     "unknown setting 'sampel_size' in value (did you mean 'sample_size'?)"),
    ("    grow: grow ", "    grwo: grow ",
     "value.segments: unknown quadrant 'grwo' (did you mean 'grow'?); the quadrants are keep, "
     "grow, maintain, reduce_cost"),
    ("    grow: grow ", "    grow: [a, b] ",
     "value.segments.grow is a name of 1 to 20 letters, digits, spaces, - or _, like grow, "
     "not ['a', 'b']"),
    ("    grow: grow ", "    grow: members we want to grow much more ",
     "value.segments.grow is a name of 1 to 20 letters, digits, spaces, - or _, like grow, "
     "not 'members we want to grow much more'"),
    ("    maintain: maintain ", "    maintain: Keep ",
     "value.segments: keep and maintain are both called 'Keep': each quadrant needs its own "
     "name"),
]


@pytest.mark.parametrize(("written", "mistake", "message"), VALUE_EDGES,
                         ids=[edge[1].strip() for edge in VALUE_EDGES])
def test_a_value_setting_that_cannot_work_is_a_problem_on_its_line(
    written: str, mistake: str, message: str
) -> None:
    files = files_with((written, mistake))
    line = next(n for n, text in enumerate(files["program.yaml"].splitlines(), 1)
                if mistake.strip() in text)
    problems = [str(p) for p in check_rules(files)]
    assert [p for p in problems if p.startswith("program.yaml")] == [
        f"program.yaml:{line}: {message}"]


def test_segments_not_a_mapping_is_a_problem_on_its_line() -> None:
    files = read_rule_dir(RULES_DIR)
    text = files["program.yaml"]
    start = text.index("  segments:")
    end = text.index("  sample_size:")
    files["program.yaml"] = text[:start] + "  segments: [keep, grow]\n" + text[end:]
    line = files["program.yaml"][:files["program.yaml"].index("  segments:")].count("\n") + 1
    assert [str(p) for p in check_rules(files)] == [
        f"program.yaml:{line}: value.segments maps each quadrant (keep, grow, maintain, "
        "reduce_cost) to its name, like {grow: develop}"]


def test_a_rule_naming_a_segment_the_programme_does_not_have_is_a_problem() -> None:
    files = read_rule_dir(RULES_DIR)
    files["value.yaml"] = SEGMENT_RULE.replace("SEGMENT", "grwo")
    assert [str(p) for p in check_rules(files)] == [
        "value.yaml:9: rule 'grow-bonus': 'member.value_segment' can never be 'grwo': the "
        "value segments (program.yaml) are keep, grow, maintain, reduce-cost (did you mean "
        "'grow'?)"]
    files["value.yaml"] = SEGMENT_RULE.replace("SEGMENT", "Reduce-Cost")
    assert check_rules(files) == []  # any case


def test_segments_renamed_by_marketing_are_the_names_rules_use() -> None:
    files = files_with(("    grow: grow ", "    grow: develop "))
    files["value.yaml"] = SEGMENT_RULE.replace("SEGMENT", "develop")
    assert check_rules(files) == []
    assert program_policy(files).value.segments == ValueSegments(grow="develop")
    files["value.yaml"] = SEGMENT_RULE.replace("SEGMENT", "grow")
    (problem,) = [str(p) for p in check_rules(files)]
    assert "'member.value_segment' can never be 'grow': the value segments (program.yaml) are " \
           "keep, develop, maintain, reduce-cost" in problem


def test_vips_may_be_ranked_by_lifetime_value_but_tiers_may_not() -> None:
    files = files_with(("  metric: spend_365d\n  top_percent", "  metric: clv\n  top_percent"))
    assert check_rules(files) == []
    assert program_policy(files).vip.metric == "clv"
    files = files_with(("  metric: spend_365d          #", "  metric: clv          #"))
    (problem,) = [str(p) for p in check_rules(files)]
    assert problem.startswith("program.yaml:") and "tiers.metric is one of" in problem
    assert problem.endswith("not 'clv'")
