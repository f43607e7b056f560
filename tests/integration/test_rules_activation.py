"""Activation refuses a rule set that would run no programme; the set in force stays."""

from __future__ import annotations

import pytest

from loyalty.domain.errors import RulesInvalid
from loyalty.engine import read_rule_dir
from loyalty.services import rules
from loyalty.services.context import ServiceContext
from tests.conftest import RULES_DIR


@pytest.mark.parametrize("keep, message", [
    (set(), "program.yaml is missing"),
    ({"program.yaml", "rewards.yaml"}, "no ruleset files"),
    ({"earning.yaml"}, "program.yaml is missing"),
])
def test_activation_of_an_incomplete_set_is_refused(
    ctx: ServiceContext, keep: set[str], message: str
) -> None:
    pack = read_rule_dir(RULES_DIR)
    first = rules.activate(ctx, pack, activated_by="test")
    with pytest.raises(RulesInvalid) as refused:
        rules.activate(ctx, {name: pack[name] for name in keep}, activated_by="test")
    assert any(message in problem for problem in refused.value.details["problems"])
    assert [v["version"] for v in rules.list_versions(ctx)] == [first["version"]]
    assert ctx.rules.current().version == str(first["version"])


def test_activation_of_huge_points_is_refused(ctx: ServiceContext) -> None:
    pack = read_rule_dir(RULES_DIR)
    first = rules.activate(ctx, pack, activated_by="test")
    huge = pack["earning.yaml"].replace(
        "award_points: {per_currency_unit: 1}", "award_points: {points: 100000000000000000000000}",
        1)
    assert huge != pack["earning.yaml"]
    with pytest.raises(RulesInvalid) as refused:
        rules.activate(ctx, {**pack, "earning.yaml": huge}, activated_by="test")
    assert any("'points' must be a whole number from 1 to 10,000,000" in p
               for p in refused.value.details["problems"])
    assert rules.list_versions(ctx)[0]["version"] == first["version"]
