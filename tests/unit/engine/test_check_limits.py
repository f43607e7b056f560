"""The checker refuses what would break the service: huge numbers, empty sets, anchor bombs;
and it probes candidate sets outside the service process."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from loyalty.cli_rules import rules
from loyalty.engine import check_rules
from loyalty.engine.probe import WORKER
from tests.unit.engine.conftest import with_program

RULE = """ruleset: x
on: [purchase]
rules:
  - id: big
    description: d
    then:
      - {effect}
"""


def _problems(effect: str) -> list[str]:
    return [str(p) for p in check_rules(with_program({"x.yaml": RULE.format(effect=effect)}))]


@pytest.mark.parametrize("effect, setting", [
    ("award_points: {points: 100000000000000000000000}", "'points'"),
    ("award_points: {points: 10000001}", "'points'"),
    ("award_points: {per_currency_unit: 1001}", "'per_currency_unit'"),
    ("award_points: {per_currency_unit: .inf}", "'per_currency_unit'"),
    ("award_points: {per_unit: 1000001}", "'per_unit'"),
    ("award_points: {per_unit: 0}", "'per_unit'"),
    ("multiply_points: {by: 101}", "'by'"),
    ("issue_offer: {offer: O, benefit: bonus_points, value: 10000001, valid_days: 30}", "'value'"),
    ("issue_offer: {offer: O, benefit: points_multiplier, value: 101, valid_days: 30}", "'value'"),
    ("issue_offer: {offer: O, benefit: bonus_points, value: 5, valid_days: 36501}",
     "'valid_days'"),
    ("grant_reward: {reward: ICE, quantity: 1001}", "'quantity'"),
    ("grant_privilege: {privilege: p, valid_days: 99999999999}", "'valid_days'"),
])
def test_out_of_range_values_are_problems_with_file_line_and_rule(
    effect: str, setting: str
) -> None:
    problems = _problems(effect)
    assert len(problems) == 1, problems
    assert problems[0].startswith("x.yaml:7: rule 'big':")
    assert setting in problems[0]


def test_values_at_the_maxima_are_accepted() -> None:
    assert _problems("award_points: {points: 10000000}") == []
    assert _problems("award_points: {per_currency_unit: 1000}") == []
    assert _problems("award_points: {per_unit: 1000000}") == []
    assert _problems("multiply_points: {by: 100}") == []


def test_huge_limit_is_a_problem() -> None:
    text = RULE.format(effect="award_points: {points: 1}") + (
        "    limit: {times: 100000000000000000000, budget_points: 100000000000000000000000}\n"
    )
    problems = [str(p) for p in check_rules(with_program({"x.yaml": text}))]
    assert len(problems) == 2
    assert all("limit:" in p and "rule 'big'" in p for p in problems)


def test_every_problem_of_one_effect_is_reported() -> None:
    problems = _problems("issue_offer: {benefit: free_beer, valid_days: -5, colour: red}")
    text = "\n".join(problems)
    assert "unknown setting 'colour'" in text
    assert "benefit is bonus_points or points_multiplier, not 'free_beer'" in text
    assert "'valid_days' must be a whole number from 1 to 36,500, got -5" in text
    assert "'offer' is required" in text
    assert "'value' is required" in text
    assert len(problems) == 5


def test_set_without_program_is_refused() -> None:
    problems = [str(p) for p in check_rules({"x.yaml": RULE.format(effect="add_tag: {tag: t}")})]
    assert problems == [
        "(rule folder): program.yaml is missing: the currency and tier ladder are defined there"
    ]


def test_set_without_rulesets_is_refused() -> None:
    problems = [p.message for p in check_rules(with_program({}))]
    assert problems == ["no ruleset files: add at least one ruleset such as earning.yaml"]


@pytest.mark.parametrize("files", [{}, {"rewards.yaml": "rewards: []\n"}])
def test_check_command_fails_on_a_folder_without_a_programme(
    tmp_path: Path, files: dict[str, str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = CliRunner().invoke(rules, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert "program.yaml is missing" in result.output
    assert "no ruleset files" in result.output


def test_yaml_anchors_and_aliases_are_refused_quickly() -> None:
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
        for i in range(9)
    )
    started = time.monotonic()
    problems = check_rules(with_program({"x.yaml": bomb}))
    assert time.monotonic() - started < 2
    assert [(p.file, p.line, p.message) for p in problems] == [
        ("x.yaml", 1, "YAML anchors and aliases are not allowed (write the value out in full)")
    ]


def test_an_alias_alone_is_refused() -> None:
    text = RULE.format(effect="add_tag: {tag: t}") + "    campaign: *name\n"
    (problem,) = check_rules(with_program({"x.yaml": text}))
    assert problem.line == 8
    assert "anchors and aliases are not allowed" in problem.message


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_checking_many_distinct_sets_does_not_grow_this_process() -> None:
    def check(n: int) -> None:
        text = RULE.format(effect="award_points: {points: 1}").replace(
            "    then:", f"    when:\n      - {{fact: event.total, at_least: {n}}}\n    then:")
        assert check_rules(with_program({"x.yaml": text})) == []

    for n in range(1, 21):
        check(n)
    before = _rss_kb()
    for n in range(1000, 1300):
        check(n)
    grown_mb = (_rss_kb() - before) / 1024
    assert WORKER.child_pid not in (None, os.getpid())
    # probing in-process took about 0.5 MB per set: 300 sets would add ~150 MB
    assert grown_mb < 25, f"resident memory grew by {grown_mb:.1f} MB"


PROGRAM_EDGES = [
    ("  pending_days: 14 ", "  pending_days: 1000000000 ",
     "points.pending_days must be a whole number from 0 to 3,650, got 1000000000"),
    ("  expiry_months: 24", "  expiry_months: 1000000000",
     "points.expiry_months must be a whole number from 1 to 1,200, got 1000000000"),
    ("  top_percent: 5 ", "  top_percent: .nan ",
     "vip.top_percent must be a number from 0 to 100, got nan"),
    ("  min_value: 80000", "  min_value: .inf",
     "vip.min_value must be a number from 0 to 1,000,000,000,000, got inf"),
    ("  leave_margin_percent: 10", "  leave_margin_percent: 100",
     "vip.leave_margin_percent must be a whole number from 0 to 99, got 100"),
    ("  leave_margin_percent: 10", "  leave_margin_percent: -5",
     "vip.leave_margin_percent must be a whole number from 0 to 99, got -5"),
    ("  leave_margin_percent: 10", "  leave_margin_percent: 7.5",
     "vip.leave_margin_percent must be a whole number from 0 to 99, got 7.5"),
    ("  leave_margin_percent: 10", "  leave_margin_percent: yes",
     "vip.leave_margin_percent must be a whole number from 0 to 99, got True"),
    ("  grace_days: 30", "  grace_days: 1.5",
     "tiers.grace_days must be a whole number from 0 to 3,650, got 1.5"),
    ("  churned_days: 365", "  churned_days: 0",
     "lifecycle.churned_days must be a whole number from 1 to 36,500, got 0"),
    ("  growing_days: 90 ", "  growing_days: 0 ",
     "lifecycle.growing_days must be a whole number from 1 to 1,825, got 0"),
    ("  growing_history_days: 365 ", "  growing_history_days: .nan ",
     "lifecycle.growing_history_days must be a whole number from 1 to 3,650, got nan"),
    ("  growing_percent: 20 ", "  growing_percent: 1001 ",
     "lifecycle.growing_percent must be a whole number from 0 to 1,000, got 1001"),
    ("  growing_measure: spend ", "  growing_measure: amount ",
     "lifecycle.growing_measure is one of spend, visits, not 'amount'"),
    ("threshold: 5000,", "threshold: .nan,",
     "tier 'silver': threshold must be a number from 0 to 1,000,000,000,000"),
    ("point_value: 0.01 ", "point_value: -.inf ",
     "point_value is an amount of money per point from 0 to 1,000, like 0.01, not -inf"),
]


@pytest.mark.parametrize(("written", "mistake", "message"), PROGRAM_EDGES,
                         ids=[edge[1].strip() for edge in PROGRAM_EDGES])
def test_a_programme_value_that_can_never_work_is_a_problem_on_its_line(
    written: str, mistake: str, message: str
) -> None:
    """Values that passed the check before and then failed at the till or in the sweep."""
    from loyalty.engine import read_rule_dir
    from tests.conftest import RULES_DIR

    files = read_rule_dir(RULES_DIR)
    assert written in files["program.yaml"], written
    files["program.yaml"] = files["program.yaml"].replace(written, mistake, 1)
    line = next(n for n, text in enumerate(files["program.yaml"].splitlines(), 1)
                if mistake.strip() in text)
    problems = [str(p) for p in check_rules(files)]
    assert [p for p in problems if p.startswith("program.yaml")] == [
        f"program.yaml:{line}: {message}"]


@pytest.mark.parametrize(("entry", "message"), [
    ("points_cost: 10000000000", "points_cost must be a whole number from 0 to 1,000,000,000"),
    ("stock: 10000000000", "stock must be a whole number from 0 to 1,000,000,000"),
])
def test_a_reward_beyond_its_range_is_a_problem(entry: str, message: str) -> None:
    from loyalty.engine import read_rule_dir
    from tests.conftest import RULES_DIR

    files = read_rule_dir(RULES_DIR)
    key = entry.split(":")[0]
    text = files["rewards.yaml"]
    found = re.search(rf"{key}: \d+", text)
    assert found, key
    files["rewards.yaml"] = text[:found.start()] + entry + text[found.end():]
    line = text[:found.start()].count("\n") + 1
    problems = [str(p) for p in check_rules(files) if p.file == "rewards.yaml"]
    assert len(problems) == 1 and problems[0].startswith(f"rewards.yaml:{line}: "), problems
    assert message in problems[0]
