"""Rules see the vouchers a purchase presents (`vouchers.presented`), the check refuses a test
no presented voucher could pass, and a gift remembers the purchase lines it was granted for."""

from __future__ import annotations

from dataclasses import replace

from loyalty.cli_rules import occurrence_from_json
from loyalty.engine import build_rulebook, check_rules
from tests.unit.engine.conftest import snapshot

PROGRAM = "currency: CNY\n"
REWARDS = """rewards:
  - {id: ICE-MAKER, name: Ice maker, stock: 5}
  - {id: SORRY-VOUCHER, name: Apology voucher}
"""


def ruleset(when: str, on: str = "purchase", effect: str = "award_points: {points: 10}") -> str:
    return (f"ruleset: probe\non: [{on}]\nrules:\n  - id: probe\n    description: a probe\n"
            f"    when:\n{when}    then:\n      - {effect}\n")


def files(text: str) -> dict[str, str]:
    return {"program.yaml": PROGRAM, "rewards.yaml": REWARDS, "probe.yaml": text}


def problems(text: str) -> list[str]:
    return [str(problem) for problem in check_rules(files(text))]


def test_a_rule_fires_when_the_purchase_presents_a_voucher_of_the_reward_it_names() -> None:
    book = build_rulebook(files(ruleset(
        "      - {fact: vouchers.presented, contains: sorry-voucher}\n")), "1")
    plain = snapshot(lines=(("MUG", "homeware", 1, "20.00"),))
    presented = replace(plain, occurrence=replace(plain.occurrence,
                                                  voucher_rewards=("SORRY-VOUCHER",)))
    assert book.evaluate(plain) == []
    assert [d.rule_id for d in book.evaluate(presented)] == ["probe"]


def test_a_voucher_test_naming_no_reward_of_the_catalogue_is_a_problem_with_its_line() -> None:
    assert problems(ruleset("      - {fact: vouchers.presented, contains: SORY-VOUCHER}\n")) == [
        "probe.yaml:7: rule 'probe': 'vouchers.presented' can never hold 'SORY-VOUCHER': no "
        "reward of that id in rewards.yaml (did you mean 'SORRY-VOUCHER'?)"]


def test_a_voucher_test_in_a_rule_reacting_to_no_purchase_is_a_problem() -> None:
    text = ruleset("      - {fact: vouchers.presented, contains: SORRY-VOUCHER}\n",
                   on="complaint")
    assert problems(text) == [
        "probe.yaml:7: rule 'probe': 'vouchers.presented' is always empty for complaint "
        "events: only a purchase presents vouchers"]


def test_the_guide_s_voucher_rule_passes_the_check_with_the_bundled_rules(
        pack: dict[str, str]) -> None:
    guide = ("ruleset: apology\non: [purchase]\nrules:\n"
             "  - id: apology-double-points\n"
             "    description: Double points on the purchase that uses an apology voucher\n"
             "    when:\n      - {fact: vouchers.presented, contains: SORRY-VOUCHER}\n"
             "    then:\n      - multiply_points: {by: 2, of: [base-earn]}\n")
    assert [str(p) for p in check_rules({**pack, "apology.yaml": guide})] == []


def test_a_gift_for_a_line_remembers_the_lines_that_passed_the_rule_s_line_tests() -> None:
    book = build_rulebook(files(ruleset(
        "      - any_line: {fact: line.category, is: fridge}\n",
        effect="grant_reward: {reward: ICE-MAKER}")), "1")
    data = snapshot(lines=(("FILTER", "accessories", 2, "49.50"),
                           ("FRIDGE-1", "fridge", 1, "3999.00"),
                           ("FRIDGE-2", "Fridge", 1, "2999.00")))
    (gift,) = book.evaluate(data)
    assert gift.matched_lines == (1, 2)


def test_a_gift_without_line_tests_or_with_only_negated_ones_is_for_the_whole_purchase() -> None:
    data = snapshot(lines=(("MUG", "homeware", 1, "20.00"),))
    for when in ("      - {fact: event.total, above: 1}\n",
                 "      - none:\n          - any_line: {fact: line.category, is: fridge}\n"):
        book = build_rulebook(files(ruleset(when, effect="grant_reward: {reward: ICE-MAKER}")),
                              "1")
        (gift,) = book.evaluate(data)
        assert gift.matched_lines == ()


def test_explain_s_event_file_names_the_rewards_whose_vouchers_are_presented() -> None:
    occurrence = occurrence_from_json({"occurred_at": "2026-11-20T14:03:00+08:00",
                                       "vouchers_presented": ["SORRY-VOUCHER"]})
    assert occurrence.voucher_rewards == ("SORRY-VOUCHER",)
