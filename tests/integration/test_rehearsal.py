"""The rehearsal of a candidate rule set, run in this process to look inside it: the steps it
goes through, where it places a failure (the rule being applied, the section of program.yaml
whose arithmetic failed), and the check of stored texts against PostgreSQL's columns. The same
code runs in the child process that activations use (tests/integration/test_hostile_rules.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from loyalty.domain.decisions import GrantReward
from loyalty.engine import check_rules, read_rule_dir
from loyalty.engine.limits import LONGEST
from loyalty.engine.loader import key_line, load_yaml
from loyalty.engine.problems import Reporter
from loyalty.services import decide, rehearsal
from loyalty.services.sweep import tiers as tier_phase
from tests.conftest import RULES_DIR

AT = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)


def rehearsed(files: dict[str, str]) -> tuple[list[str], list[str]]:
    steps: list[str] = []
    found = rehearsal.rehearse_here(files, AT, steps.append)
    return [str(problem) for problem in found], steps


def test_the_bundled_rules_go_through_every_step_of_the_till_and_the_sweep() -> None:
    started = time.monotonic()
    problems, steps = rehearsed(read_rule_dir(RULES_DIR))
    assert problems == []
    assert steps[:4] == ["storing the rules", "compiling the rules", "an enrolment",
                         "a purchase"]
    assert {f"a '{event}' event" for event in ("complaint", "service", "referral", "survey",
                                               "visit")} <= set(steps)
    assert {"a points adjustment", "a redemption", "a return"} <= set(steps)
    sweeps = [step for step in steps if step.startswith("the sweep as of ")]
    assert sweeps[0] == "the sweep as of 2026-11-21"  # a day later
    assert "the sweep as of 2026-12-05" in sweeps  # the pending points become available
    assert "the sweep as of 2028-11-21" in sweeps  # the points of the purchase expired
    assert steps[-2:] == ["a purchase after the sweep, with the offers held",
                          "a return of the rest of the first purchase"]
    assert time.monotonic() - started < 60


def test_a_failure_while_applying_a_rule_is_placed_at_that_rule(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    applying = decide.Decider.other_effect

    def failing(self: Any, decision: Any, view: dict[str, Any]) -> None:
        if isinstance(decision.effect, GrantReward):
            raise ArithmeticError("cannot give this reward")
        applying(self, decision, view)

    monkeypatch.setattr(decide.Decider, "other_effect", failing)
    files = read_rule_dir(RULES_DIR)
    problems, _ = rehearsed(files)
    welcome = next(rule for rule in _rules(files) if rule.id == "welcome-reward")
    assert problems[0] == (
        f"welcome.yaml:{welcome.line}: rule 'welcome-reward': rehearsing these rules, an enrolment "
        "failed while applying this rule (ArithmeticError: cannot give this reward): the till "
        "would fail the same way")


def test_a_failure_of_a_policy_in_the_sweep_is_placed_at_its_section_of_program_yaml(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(tier_phase, "decide", failing)
    files = read_rule_dir(RULES_DIR)
    problems, _ = rehearsed(files)
    line = key_line(load_yaml(files["program.yaml"], Reporter("program.yaml")), "tiers")
    assert problems
    assert all(problem.startswith(f"program.yaml:{line}: rehearsing these rules, the sweep as of ")
               for problem in problems), problems
    assert "failed with the 'tiers' settings (OverflowError: date value out of range)" \
        in problems[0]


def test_what_the_name_limits_miss_the_rehearsal_finds_in_the_stored_texts(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the campaign limit as it once was (the column's length, forgetting the budget key's
    prefix), the static check passes a campaign the database cannot count a budget under; the
    rehearsal spends that budget and finds the text too long, at the rule."""
    monkeypatch.setitem(LONGEST, "campaign", 100)
    campaign = "c" * 95
    files = read_rule_dir(RULES_DIR)
    files["spring.yaml"] = (
        "ruleset: spring\non: [purchase]\nrules:\n  - id: spring-bonus\n"
        "    description: 10 points while the budget lasts\n"
        f"    campaign: {campaign}\n    then:\n      - award_points: {{points: 10}}\n"
        "    limit: {budget_points: 1000}\n")
    assert check_rules(files) == []
    problems, _ = rehearsed(files)
    assert problems == [
        f"spring.yaml:4: rule 'spring-bonus': 'campaign:{'c' * 31}...' (104 characters) is "
        "longer than the 100 the database keeps for rule_budgets.rule_id: the till would fail "
        "on PostgreSQL; use a shorter name"]


def _rules(files: dict[str, str]) -> Any:
    from loyalty.engine.rulebook import analyse

    return analyse(files).rules
