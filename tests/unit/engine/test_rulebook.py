"""Behaviour of a compiled rule book on the shipped pack and small rule files."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty.domain.decisions import AwardPoints, GrantReward, MultiplyPoints
from loyalty.domain.errors import RulesInvalid
from loyalty.engine import build_rulebook, check_rules, explain, rules_content_hash
from tests.unit.engine.conftest import snapshot

FRIDGE = ("FRIDGE-500L", "appliances", 1, "3999")
KETTLE = ("KETTLE-1", "kitchen", 1, "99")


def test_shipped_pack_has_no_problems(pack: dict[str, str]) -> None:
    assert check_rules(pack) == []


def test_purchase_decisions_come_in_priority_then_file_order(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "7")
    decisions = book.evaluate(snapshot(lines=(FRIDGE, KETTLE), member={"tier": "gold"}))
    assert [d.rule_id for d in decisions] == [
        "base-earn",
        "gold-multiplier",
        "kitchen-bonus",
        "fridge-ice-maker",
        "fridge-ice-maker",
    ]
    assert [d.order for d in decisions] == list(range(len(decisions)))
    assert all(d.ruleset_version == "7" for d in decisions)
    assert decisions[0].reason == "1 point for every 1 CNY spent"
    assert decisions[0].effect == AwardPoints(rate=Decimal(1))
    assert decisions[1].effect == MultiplyPoints(Decimal("1.5"), ("base-earn",))
    assert decisions[3].effect == GrantReward("ICE-MAKER", 1, 90)


def test_line_award_reports_the_lines_the_engine_matched(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    decisions = book.evaluate(snapshot(lines=(FRIDGE, KETTLE, KETTLE)))
    (bonus,) = [d for d in decisions if d.rule_id == "kitchen-bonus"]
    assert bonus.matched_lines == (1, 2)


def test_line_award_without_matching_lines_is_not_decided(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    decisions = book.evaluate(snapshot(lines=(FRIDGE,)))
    assert "kitchen-bonus" not in [d.rule_id for d in decisions]


def test_rule_outside_its_dates_does_not_fire(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    later = datetime(2027, 2, 1, 10, tzinfo=UTC)
    decisions = book.evaluate(snapshot(lines=(KETTLE,), when=later))
    assert "kitchen-bonus" not in [d.rule_id for d in decisions]


def test_event_types_without_rules_decide_nothing(pack: dict[str, str]) -> None:
    assert build_rulebook(pack, "1").evaluate(snapshot(kind="survey")) == []


def test_tier_scaled_birthday_gift(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    gold = book.evaluate(snapshot(kind="birthday", member={"tier": "gold"}))
    base = book.evaluate(snapshot(kind="birthday", member={"tier": "member"}))
    assert GrantReward("BIRTHDAY-DINNER", 1, 30) in [d.effect for d in gold]
    assert GrantReward("BIRTHDAY-CAKE", 1, 30) in [d.effect for d in base]


def test_winback_offer_on_lapsed_stage(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    decisions = book.evaluate(snapshot(kind="lifecycle_changed", attributes={"stage": "lapsed"}))
    assert [d.effect_name for d in decisions] == ["issue_offer", "add_tag"]
    assert decisions[0].campaign == "winback-2026"


def test_policy_is_read_from_program_and_rewards(pack: dict[str, str]) -> None:
    policy = build_rulebook(pack, "1").policy
    assert policy.currency == "CNY"
    assert policy.tiers is not None and policy.tiers.lowest == "member"
    assert policy.tiers.qualifying_tier(Decimal(25000)) == "gold"
    assert policy.reward("ICE-MAKER") is not None
    assert policy.points.pending_days == 14


def test_invalid_rules_raise_rules_invalid_with_every_problem(pack: dict[str, str]) -> None:
    broken = dict(pack)
    broken["earning.yaml"] = pack["earning.yaml"].replace("member.tier", "member.teir")
    with pytest.raises(RulesInvalid) as raised:
        build_rulebook(broken, "2")
    assert len(raised.value.details["problems"]) == 2
    assert "did you mean 'member.tier'" in raised.value.details["problems"][0]


def test_content_hash_ignores_mapping_order(pack: dict[str, str]) -> None:
    reordered = dict(reversed(list(pack.items())))
    assert rules_content_hash(pack) == rules_content_hash(reordered)
    assert rules_content_hash(pack) != rules_content_hash({**pack, "x.yaml": ""})


def test_many_books_with_the_same_version_coexist(pack: dict[str, str]) -> None:
    """Books from different files under one version string each keep their own rules."""
    first = build_rulebook(pack, "1")
    changed = {
        **pack,
        "earning.yaml": pack["earning.yaml"].replace("at_least: 500", "at_least: 5000"),
    }
    second = build_rulebook(changed, "1")
    data = snapshot(lines=(FRIDGE,), stats={"lifetime_visits": 1})  # 3999: over 500, under 5000
    gift = ["fridge-ice-maker", "fridge-ice-maker"]
    assert [d.rule_id for d in first.evaluate(data)] == ["base-earn", "cross-category-bonus", *gift]
    assert [d.rule_id for d in second.evaluate(data)] == ["base-earn", *gift]
    assert [d.rule_id for d in first.evaluate(data)] == ["base-earn", "cross-category-bonus", *gift]


def test_evaluations_leave_no_state_behind(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    data = snapshot(lines=(FRIDGE, KETTLE), member={"tier": "gold"})
    first = book.evaluate(data)
    for _ in range(300):
        assert book.evaluate(data) == first


def test_evaluation_is_safe_from_several_threads(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    data = snapshot(lines=(FRIDGE, KETTLE), member={"tier": "platinum"})
    expected = book.evaluate(data)
    failures: list[object] = []

    def work() -> None:
        for _ in range(100):
            if book.evaluate(data) != expected:
                failures.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_evaluation_works_in_a_forked_child(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "1")
    data = snapshot(lines=(FRIDGE,))
    expected = len(book.evaluate(data))
    pid = os.fork()
    if pid == 0:
        os._exit(0 if len(book.evaluate(data)) == expected else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_explain_speaks_plain_language(pack: dict[str, str]) -> None:
    book = build_rulebook(pack, "3")
    decisions = book.evaluate(snapshot(lines=(FRIDGE, KETTLE)))
    lines = explain(decisions, {0: 4098})
    assert lines[0] == (
        "base-earn (earning, version 3) fired: award 4098 points (1 point per 1 CNY spent)"
        " — 1 point for every 1 CNY spent"
    )
    assert "on line 2" in lines[1]
    assert "give reward ICE-MAKER x1" in lines[2]
