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
    first = rules.activate(ctx, pack, activated_by="test", reason="test")
    with pytest.raises(RulesInvalid) as refused:
        rules.activate(ctx, {name: pack[name] for name in keep}, activated_by="test", reason="test")
    assert refused.value.details["problems"] == problems
    assert [v["version"] for v in rules.list_versions(ctx)] == [first["version"]]
    assert ctx.rules.current().version == str(first["version"])


def test_activation_of_huge_points_is_refused(ctx: ServiceContext) -> None:
    pack = read_rule_dir(RULES_DIR)
    first = rules.activate(ctx, pack, activated_by="test", reason="test")
    huge = pack["earning.yaml"].replace(
        "award_points: {per_currency_unit: 1}", "award_points: {points: 100000000000000000000000}",
        1)
    assert huge != pack["earning.yaml"]
    with pytest.raises(RulesInvalid) as refused:
        rules.activate(ctx, {**pack, "earning.yaml": huge}, activated_by="test", reason="test")
    assert refused.value.details["problems"] == [
        "earning.yaml:11: rule 'base-earn': award_points: 'points' must be a whole number from 1 "
        "to 10,000,000, got 100000000000000000000000"]
    assert [v["version"] for v in rules.list_versions(ctx)] == [first["version"]]


def test_an_activation_is_seen_at_once_however_long_the_refresh_and_however_new_the_clock(
    ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Activating in this process invalidates the cached book: the next read sees the new
    version even when the monotonic clock (seconds since boot) is smaller than the refresh."""
    from loyalty.services import rulebooks
    from loyalty.services.rulebooks import RuleBookProvider

    monkeypatch.setattr(rulebooks.time, "monotonic", lambda: 10.0)
    provider = RuleBookProvider(ctx.engine, ctx.settings.__class__(
        database_url=ctx.settings.database_url, rules_dir=ctx.settings.rules_dir,
        rules_refresh_seconds=3600.0))
    ctx.rules = provider
    pack = read_rule_dir(RULES_DIR)
    rules.activate(ctx, pack, activated_by="test", reason="test")
    assert provider.current().version == "1"
    changed = {**pack, "earning.yaml": pack["earning.yaml"].replace("per_currency_unit: 1",
                                                                    "per_currency_unit: 2", 1)}
    rules.activate(ctx, changed, activated_by="test", reason="test")
    assert provider.current().version == "2"
