"""The lifecycle stage `active` became `growing` and `mature`: a new rule set naming it is
refused, while a version activated before keeps loading and reads it as what it meant."""

from __future__ import annotations

import pytest

from loyalty.domain.errors import RulesInvalid
from loyalty.engine import build_rulebook, read_rule_dir
from tests.unit.engine.conftest import RULES_DIR, snapshot

OLD_WELCOME_BACK = """ruleset: winback
on: [lifecycle_changed]
rules:
  - id: welcome-back
    description: Welcome back
    when:
      - {fact: event.attributes.stage, is: active}
      - {fact: event.attributes.previous, in: [lapsed, churned]}
    then:
      - award_points: {points: 300}
"""
OLD_THANKS = """ruleset: thanks
on: [purchase]
rules:
  - id: thanks-regular
    description: 20 points for members buying as they do
    when:
      - {fact: member.lifecycle_stage, is: active}
    then:
      - award_points: {points: 20}
  - id: thanks-not-regular
    description: 5 points for everyone else
    when:
      - {fact: member.lifecycle_stage, not_in: [active, new]}
    then:
      - award_points: {points: 5}
"""


def old_version() -> dict[str, str]:
    """Files as activated before the stage was retired."""
    files = read_rule_dir(RULES_DIR)
    return {"program.yaml": files["program.yaml"], "winback.yaml": OLD_WELCOME_BACK,
            "thanks.yaml": OLD_THANKS}


def test_a_new_rule_set_naming_active_is_refused() -> None:
    with pytest.raises(RulesInvalid) as refused:
        build_rulebook(old_version(), "9")
    problems = refused.value.details["problems"]
    assert len(problems) == 3
    assert all("it became growing and mature" in p for p in problems), problems
    assert problems[0].startswith("thanks.yaml:7:"), problems


@pytest.mark.parametrize(("stage", "previous", "welcomed"), [
    ("growing", "lapsed", True), ("mature", "churned", True),
    ("growing", "declining", False), ("declining", "lapsed", False)])
def test_a_stored_version_reads_active_as_growing_or_mature(stage: str, previous: str,
                                                            welcomed: bool) -> None:
    book = build_rulebook(old_version(), "1", stored=True)
    decisions = book.evaluate(snapshot(kind="lifecycle_changed",
                                       attributes={"stage": stage, "previous": previous}))
    assert ("welcome-back" in [d.rule_id for d in decisions]) is welcomed


@pytest.mark.parametrize(("stage", "rule"), [
    ("active", "thanks-regular"), ("growing", "thanks-regular"), ("Mature", "thanks-regular"),
    ("new", None), ("lapsed", "thanks-not-regular")])
def test_a_stored_version_tests_a_member_s_stage_as_it_meant(stage: str,
                                                             rule: str | None) -> None:
    """A member keeps `active` until the next sweep gives them growing or mature."""
    book = build_rulebook(old_version(), "1", stored=True)
    decisions = book.evaluate(snapshot(member={"lifecycle_stage": stage}))
    assert [d.rule_id for d in decisions] == ([rule] if rule else [])
