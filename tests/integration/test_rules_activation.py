"""Activation refuses a rule set that would run no programme; the set in force stays."""

from __future__ import annotations

import pytest

from loyalty.domain.errors import RulesInvalid
from loyalty.engine import read_rule_dir
from loyalty.services import rules
from loyalty.services.context import ServiceContext
from tests.conftest import RULES_DIR

NO_PROGRAM = ("(rule folder): program.yaml is missing: the currency and tier ladder are defined "
              "there")
NO_RULESET = "(rule folder): no ruleset files: add at least one ruleset such as earning.yaml"


@pytest.mark.parametrize("keep, problems", [
    (set(), [NO_PROGRAM, NO_RULESET]),
    ({"program.yaml", "rewards.yaml"}, [NO_RULESET]),
    ({"earning.yaml"}, [NO_PROGRAM]),
])
def test_activation_of_an_incomplete_set_is_refused(
    ctx: ServiceContext, keep: set[str], problems: list[str]
) -> None:
    pack = read_rule_dir(RULES_DIR)
    first = rules.activate(ctx, pack, activated_by="test")
    with pytest.raises(RulesInvalid) as refused:
        rules.activate(ctx, {name: pack[name] for name in keep}, activated_by="test")
    assert refused.value.details["problems"] == problems
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
    assert refused.value.details["problems"] == [
        "earning.yaml:11: rule 'base-earn': award_points: 'points' must be a whole number from 1 "
        "to 10,000,000, got 100000000000000000000000"]
    assert [v["version"] for v in rules.list_versions(ctx)] == [first["version"]]
