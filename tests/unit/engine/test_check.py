"""check_rules reports each kind of mistake in a broken copy of the pack, with its line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from loyalty.cli_rules import rules
from loyalty.engine import Problem, check_rules
from loyalty.engine.compiler import MAX_RULES_PER_RULESET
from tests.unit.engine.conftest import with_program


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            count += 1
            if count == nth:
                return number
    raise AssertionError(needle)


def _break(pack: dict[str, str], name: str, old: str, new: str) -> tuple[dict[str, str], str]:
    assert old in pack[name]
    text = pack[name].replace(old, new, 1)
    return {**pack, name: text}, text


CASES = [
    (
        "yaml syntax",
        "earning.yaml",
        "      - award_points: {per_currency_unit: 1}",
        "      - award_points: {per_currency_unit: 1",
        "award_points",
        "YAML syntax",
    ),
    (
        "unknown key",
        "earning.yaml",
        "    priority: 20\n    when:",
        "    priorty: 20\n    when:",
        "priorty",
        "unknown key 'priorty' (did you mean 'priority'?)",
    ),
    (
        "unknown fact",
        "earning.yaml",
        "{fact: member.tier, is: gold}",
        "{fact: member.teir, is: gold}",
        "member.teir",
        "unknown fact 'member.teir' (did you mean 'member.tier'?)",
    ),
    (
        "wrong type",
        "earning.yaml",
        "at_least: 500}",
        'at_least: "abc"}',
        '"abc"',
        "wrong type for 'event.total' at_least",
    ),
    (
        "unknown effect",
        "referral.yaml",
        "- award_points: {points: 500}",
        "- award_pionts: {points: 500}",
        "award_pionts",
        "unknown effect 'award_pionts' (did you mean 'award_points'?)",
    ),
    (
        "bad date",
        "earning.yaml",
        "until: 2026-12-31",
        "until: 2026-13-45",
        "2026-13-45",
        "bad date for 'until'",
    ),
    (
        "bad date in a condition",
        "winback.yaml",
        "{fact: event.attributes.stage, is: declining}",
        "{fact: event.date, at_least: 24/12/2026}",
        "24/12/2026",
        "expected a date",
    ),
    (
        "duplicate id",
        "gifts.yaml",
        "id: fridge-ice-maker",
        "id: base-earn",
        "id: base-earn",
        "duplicate id (first used at earning.yaml:",
    ),
    (
        "negative priority",
        "referral.yaml",
        "priority: 10",
        "priority: -1",
        "priority: -1",
        "priority -1 is out of range 0..65535",
    ),
    (
        "priority out of range",
        "referral.yaml",
        "priority: 10",
        "priority: 70000",
        "priority: 70000",
        "out of range",
    ),
    (
        "weekday",
        "winback.yaml",
        "{fact: event.attributes.stage, is: declining}",
        "{fact: event.weekday, is: caturday}",
        "caturday",
        "expected a weekday name",
    ),
    (
        "unknown reward",
        "gifts.yaml",
        "reward: ICE-MAKER",
        "reward: ICE-MAKR",
        "ICE-MAKR",
        "grant_reward names reward 'ICE-MAKR'",
    ),
    (
        "unknown multiplied rule",
        "earning.yaml",
        "of: [base-earn]",
        "of: [base-earning]",
        "base-earning",
        "multiply_points names unknown rule 'base-earning'",
    ),
    (
        "unknown tier in program",
        "program.yaml",
        "tiers: [platinum]",
        "tiers: [platinium]",
        "platinium",
        "vip: unknown tier 'platinium'",
    ),
    (
        "unknown policy key",
        "program.yaml",
        "  grace_days: 30",
        "  grace_dayz: 30",
        "grace_dayz",
        "unknown setting 'grace_dayz' in tiers (did you mean 'grace_days'?)",
    ),
    (
        "reward wrong type",
        "rewards.yaml",
        "points_cost: 2000",
        "points_cost: lots",
        "points_cost: lots",
        "points_cost must be a whole number",
    ),
]


@pytest.mark.parametrize(
    ("name", "file", "old", "new", "needle", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_broken_copy_reports_the_problem_with_its_line(
    pack: dict[str, str], name: str, file: str, old: str, new: str, needle: str, message: str
) -> None:
    files, text = _break(pack, file, old, new)
    problems = check_rules(files)
    assert problems, name
    hits = [p for p in problems if message in p.message]
    assert hits, [str(p) for p in problems]
    nth = 2 if name == "duplicate id" else 1
    expected_line = (
        _line_of(text, needle, nth) if name != "duplicate id" else _line_of(text, needle)
    )
    assert hits[0].file == file
    assert hits[0].line == expected_line, str(hits[0])


def test_problem_names_file_line_and_rule(pack: dict[str, str]) -> None:
    files, text = _break(
        pack, "earning.yaml", "{fact: member.tier, is: gold}", "{fact: member.teir, is: gold}"
    )
    (problem,) = check_rules(files)
    line = _line_of(text, "member.teir")
    assert str(problem) == (
        f"earning.yaml:{line}: rule 'gold-multiplier': "
        "unknown fact 'member.teir' (did you mean 'member.tier'?)"
    )


def test_every_problem_is_reported_at_once(pack: dict[str, str]) -> None:
    files, _ = _break(pack, "earning.yaml", "member.tier, is: gold", "member.teir, is: gold")
    files, _ = _break(files, "referral.yaml", "priority: 10", "priority: -5")
    files, _ = _break(files, "gifts.yaml", "grant_reward:", "grant_rewards:")
    assert len(check_rules(files)) == 3


def test_unknown_set_tier_is_a_problem(pack: dict[str, str]) -> None:
    files, _ = _break(
        pack, "referral.yaml", "- add_tag: {tag: referrer}", "- set_tier: {tier: diamond}"
    )
    problems = check_rules(files)
    assert [p.file for p in problems] == ["referral.yaml"]
    assert "set_tier names tier 'diamond'" in problems[0].message


def test_line_facts_outside_any_line_are_refused() -> None:
    text = (
        "ruleset: x\non: [purchase]\nrules:\n  - id: a\n    description: d\n    when:\n"
        "      - {fact: line.sku, is: A}\n    then:\n      - award_points: {points: 1}\n"
    )
    (problem,) = check_rules(with_program({"x.yaml": text}))
    assert problem.line == 7 and "inside any_line" in problem.message


def test_ruleset_too_large_for_the_engine() -> None:
    rule = (
        "  - id: r{n}\n    description: rule {n}\n    when: {{fact: event.total, above: {n}}}\n"
        "    then:\n      - award_points: {{points: 1}}\n"
    )
    body = "".join(rule.format(n=n) for n in range(MAX_RULES_PER_RULESET + 1))
    text = "ruleset: big\non: [purchase]\nrules:\n" + body
    problems = check_rules(with_program({"big.yaml": text}))
    assert len(problems) == 1
    assert "ruleset too large for the engine" in problems[0].message
    assert problems[0].line == 3 + 5 * MAX_RULES_PER_RULESET + 1


def test_check_command_passes_on_the_shipped_pack() -> None:
    result = CliRunner().invoke(rules, ["check", "rules"])
    assert result.exit_code == 0
    assert result.output.strip().endswith("rules: no problems")


def test_check_command_fails_with_every_problem(tmp_path, pack: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    files, _ = _break(pack, "earning.yaml", "member.tier, is: gold", "member.teir, is: gold")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = CliRunner().invoke(rules, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert "earning.yaml:" in result.output and "1 problem(s)" in result.output


def test_problem_without_line_prints_file_only() -> None:
    assert str(Problem("a.yaml", None, None, "oops")) == "a.yaml: oops"
