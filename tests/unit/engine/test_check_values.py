"""The check knows the programme's values: a rule comparing a fact with a value it can never
take is refused with its file, line and rule, and a suggestion when one is close."""

from __future__ import annotations

import re

import pytest

from loyalty.engine import check_rules
from tests.unit.engine.conftest import RULES_DIR

PROGRAM = """currency: CNY
tiers:
  metric: spend_365d
  levels:
    - {tier: member, threshold: 0}
    - {tier: silver, threshold: 5000}
    - {tier: gold, threshold: 20000}
channels: [store, web, app]
events:
  service:
    attributes:
      cost: money
      outcome: {type: word, values: [upheld, rejected]}
      parts: list
      under_warranty: yes/no
      visited_on: date
      minutes: number
  complaint:
    attributes:
      outcome: word
      cost: word
  webinar_attended:
"""
REWARDS = """rewards:
  - {id: ICE-MAKER, name: Ice maker}
"""


def ruleset(*tests: str, on: str = "purchase", effect: str = "award_points: {points: 1}") -> str:
    """A ruleset file of one rule 'probe' testing each of `tests`, one per line from line 7."""
    when = "".join(f"      - {test}\n" for test in tests)
    return (f"ruleset: probe\non: [{on}]\nrules:\n  - id: probe\n    description: a probe\n"
            f"    when:\n{when}    then:\n      - {effect}\n")


def problems(text: str, program: str = PROGRAM, **others: str) -> list[str]:
    files = {"program.yaml": program, "rewards.yaml": REWARDS, "probe.yaml": text}
    files.update({f"{name}.yaml": body for name, body in others.items()})
    return [str(problem) for problem in check_rules(files)]


def refused(message: str, line: int = 7) -> list[str]:
    return [f"probe.yaml:{line}: rule 'probe': {message}"]


# ---- member facts ---------------------------------------------------------------------------


def test_a_tier_that_does_not_exist_is_refused_with_the_tier_meant() -> None:
    assert problems(ruleset("{fact: member.tier, is: glod}")) == refused(
        "'member.tier' can never be 'glod': the tiers (program.yaml) are member, silver, gold "
        "(did you mean 'gold'?)"
    )


def test_a_tier_in_a_list_is_checked_too() -> None:
    assert problems(ruleset("{fact: member.tier, not_in: [member, platinum]}")) == refused(
        "'member.tier' can never be 'platinum': the tiers (program.yaml) are member, silver, "
        "gold"
    )


@pytest.mark.parametrize("test", [
    "{fact: member.tier, is: Gold}",
    "{fact: member.tier, in: [SILVER, gold]}",
    "{fact: member.tier, starts_with: G}",
    "{fact: member.lifecycle_stage, is: Lapsed}",
    "{fact: event.channel, is: WEB}",
    "{fact: member.channel, in: [app, Store]}",
    "{fact: event.store, is: ANY-STORE}",
    "{fact: member.vip, is: true}",
])
def test_values_the_programme_declares_pass_in_any_case(test: str) -> None:
    assert problems(ruleset(test)) == []


def test_a_prefix_no_tier_has_is_refused() -> None:
    assert problems(ruleset("{fact: member.tier, starts_with: plat}")) == refused(
        "'member.tier' never starts with 'plat': the tiers (program.yaml) are member, silver, "
        "gold"
    )


def test_without_a_ladder_tiers_are_not_checked() -> None:
    assert problems(ruleset("{fact: member.tier, is: diamond}"), program="currency: CNY\n") == []


@pytest.mark.parametrize("stage", ["steady", "ended"])
def test_a_lifecycle_stage_the_sweep_never_sets_is_refused(stage: str) -> None:
    assert problems(ruleset(f"{{fact: member.lifecycle_stage, is: {stage}}}")) == refused(
        f"'member.lifecycle_stage' can never be '{stage}': the lifecycle stages are new, "
        "dormant, growing, mature, declining, lapsed, churned"
    )


@pytest.mark.parametrize("stage", ["growing", "mature"])
def test_growing_and_mature_are_stages_a_rule_may_name(stage: str) -> None:
    assert problems(ruleset(f"{{fact: member.lifecycle_stage, is: {stage}}}")) == []


def became(word: str = "active") -> str:
    return (f" ('{word}' is no longer a stage: it became growing and mature; test both with "
            "in: [growing, mature])")


@pytest.mark.parametrize(("test", "word"), [("is: active", "active"),
                                            ("in: [lapsed, Active]", "Active"),
                                            ("is_not: active", "active")])
def test_the_retired_stage_active_is_refused_with_the_stages_it_became(test: str,
                                                                       word: str) -> None:
    assert problems(ruleset(f"{{fact: member.lifecycle_stage, {test}}}")) == refused(
        f"'member.lifecycle_stage' can never be '{word}': the lifecycle stages are new, "
        "dormant, growing, mature, declining, lapsed, churned" + became(word)
    )


def test_a_reaction_to_the_retired_stage_active_is_refused_on_its_line() -> None:
    rules = ruleset("{fact: event.attributes.previous, in: [lapsed, churned]}",
                    "{fact: event.attributes.stage, is: active}", on="lifecycle_changed")
    assert problems(rules) == refused(
        "'event.attributes.stage' can never be 'active': the stage of lifecycle_changed events "
        "is one of new, dormant, growing, mature, declining, lapsed, churned" + became(), line=8)


def test_a_misspelt_lifecycle_stage_is_refused_with_the_stage_meant() -> None:
    assert problems(ruleset("{fact: member.lifecycle_stage, is: lapsd}")) == refused(
        "'member.lifecycle_stage' can never be 'lapsd': the lifecycle stages are new, "
        "dormant, growing, mature, "
        "declining, lapsed, churned (did you mean 'lapsed'?)"
    )


@pytest.mark.parametrize("value", ['"yes"', "maybe", "1"])
def test_vip_is_yes_or_no_only(value: str) -> None:
    shown = {'"yes"': "'yes'", "maybe": "'maybe'", "1": "1"}[value]
    assert problems(ruleset(f"{{fact: member.vip, is: {value}}}")) == refused(
        f"wrong type for 'member.vip' is: expected true or false, got {shown}"
    )


# ---- channels and stores --------------------------------------------------------------------


def test_a_channel_the_programme_does_not_list_is_refused() -> None:
    assert problems(ruleset("{fact: event.channel, is: webshop}")) == refused(
        "'event.channel' can never be 'webshop': the channels (program.yaml) are store, web, "
        "app (did you mean 'web'?)"
    )


def test_the_channel_a_member_joined_through_is_checked_too() -> None:
    assert problems(ruleset("{fact: member.channel, is: phone}")) == refused(
        "'member.channel' can never be 'phone': the channels (program.yaml) are store, web, app"
    )


def test_without_a_channel_list_the_standard_channels_apply() -> None:
    program = "currency: CNY\n"
    assert problems(ruleset("{fact: event.channel, is: desk}"), program=program) == []
    assert problems(ruleset("{fact: event.channel, is: kiosk}"), program=program) == refused(
        "'event.channel' can never be 'kiosk': the channels (program.yaml) are store, web, app, "
        "phone, desk"
    )


def test_declared_stores_are_checked() -> None:
    program = PROGRAM + "stores: [SH-001, BJ-002]\n"
    assert problems(ruleset("{fact: event.store, is: sh-001}"), program=program) == []
    assert problems(ruleset("{fact: event.store, is: SH-01}"), program=program) == refused(
        "'event.store' can never be 'SH-01': the stores (program.yaml) are SH-001, BJ-002 "
        "(did you mean 'SH-001'?)"
    )


# ---- offers, rewards and tiers named by effects ----------------------------------------------


ISSUER = """ruleset: winback
on: [lifecycle_changed]
rules:
  - id: winback
    description: come back
    then:
      - issue_offer: {offer: WINBACK-500, benefit: bonus_points, value: 500, valid_days: 30}
"""


def test_an_offer_no_rule_issues_is_refused_with_the_offer_meant() -> None:
    assert problems(ruleset("{fact: offers.presented, contains: WINBAK-500}"),
                    winback=ISSUER) == refused(
        "'offers.presented' can never hold 'WINBAK-500': no rule issues that offer "
        "(issue_offer) (did you mean 'WINBACK-500'?)"
    )


def test_an_offer_issued_in_another_file_may_be_presented_in_any_case() -> None:
    assert problems(ruleset("{fact: offers.presented, contains: winback-500}"),
                    winback=ISSUER) == []


def test_a_reward_not_in_the_catalogue_is_refused_with_the_reward_meant() -> None:
    text = ruleset("{fact: event.total, above: 1}", effect="grant_reward: {reward: ICE-MAKR}")
    assert problems(text) == refused(
        "grant_reward names reward 'ICE-MAKR' not in rewards.yaml (did you mean 'ICE-MAKER'?)",
        line=9,
    )


def test_set_tier_names_a_tier_exactly_as_the_ladder_does() -> None:
    text = ruleset("{fact: event.total, above: 1}", effect="set_tier: {tier: Gold}")
    assert problems(text) == refused(
        "set_tier names tier 'Gold' not in the ladder (program.yaml) (did you mean 'gold'?)",
        line=9,
    )


# ---- event types ----------------------------------------------------------------------------


def test_an_event_the_programme_does_not_declare_is_refused() -> None:
    assert problems(ruleset("{fact: event.total, above: 1}", on="newsletter_signup")) == [
        "probe.yaml:2: unknown event 'newsletter_signup': declare your own events under events: "
        "in program.yaml"
    ]


def test_a_misspelt_event_is_refused_with_the_event_meant() -> None:
    assert problems(ruleset("{fact: event.total, above: 1}", on="complain")) == [
        "probe.yaml:2: unknown event 'complain' (did you mean 'complaint'?)"
    ]


def test_a_declared_event_of_its_own_may_be_reacted_to() -> None:
    assert problems(ruleset("{fact: event.type, is: webinar_attended}",
                            on="webinar_attended")) == []


def test_an_event_type_the_rule_does_not_react_to_is_refused() -> None:
    text = ruleset("{fact: event.type, in: [purchase, complaint]}", on="purchase, service")
    assert problems(text) == refused(
        "'event.type' can never be 'complaint': this rule reacts to purchase, service"
    )


# ---- event attributes -----------------------------------------------------------------------


def test_an_attribute_the_event_does_not_declare_is_refused_with_the_one_meant() -> None:
    text = ruleset("{fact: event.attributes.costs, above: 500}", on="service")
    assert problems(text) == refused(
        "'event.attributes.costs' is not an attribute of service events (did you mean "
        "'event.attributes.cost'?); declare the attributes of an event under events: in "
        "program.yaml"
    )


def test_purchases_carry_no_attributes() -> None:
    text = ruleset("{fact: event.attributes.cost, above: 500}")
    assert problems(text) == refused(
        "'event.attributes.cost' is not an attribute of purchase events; declare the "
        "attributes of an event under events: in program.yaml"
    )


def test_an_attribute_declared_for_one_of_the_events_may_be_tested() -> None:
    text = ruleset("{fact: event.attributes.minutes, at_least: 30}", on="purchase, service")
    assert problems(text) == []


def test_money_is_compared_with_amounts_not_words() -> None:
    text = ruleset("{fact: event.attributes.cost, is: high}", on="service")
    assert problems(text) == refused(
        "wrong type for 'event.attributes.cost' is: expected an amount of money, like 1000 or "
        "99.50, got 'high'"
    )


def test_a_number_is_compared_with_numbers() -> None:
    text = ruleset("{fact: event.attributes.minutes, above: long}", on="service")
    assert problems(text) == refused(
        "wrong type for 'event.attributes.minutes' above: expected a number, like 3 or 4.5, "
        "got 'long'"
    )


def test_a_word_outside_the_declared_values_is_refused_with_the_word_meant() -> None:
    text = ruleset("{fact: event.attributes.outcome, is: uphold}", on="service")
    assert problems(text) == refused(
        "'event.attributes.outcome' can never be 'uphold': the outcome of service events is one "
        "of upheld, rejected (did you mean 'upheld'?)"
    )


def test_a_word_is_not_ordered() -> None:
    text = ruleset("{fact: event.attributes.outcome, above: 3}", on="service")
    assert problems(text) == refused(
        "'above' cannot be used on word attribute 'event.attributes.outcome' (use one of: is, "
        "is_not, in, not_in, starts_with, exists)"
    )


def test_yes_no_dates_and_lists_take_their_own_values() -> None:
    good = ruleset(
        "{fact: event.attributes.under_warranty, is: false}",
        "{fact: event.attributes.visited_on, between: [2026-01-01, 2026-12-31]}",
        "{fact: event.attributes.parts, contains: Filter}",
        "{fact: event.attributes.parts, exists: true}",
        on="service",
    )
    assert problems(good) == []
    bad = ruleset("{fact: event.attributes.under_warranty, is: sometimes}", on="service")
    assert problems(bad) == refused(
        "wrong type for 'event.attributes.under_warranty' is: expected true or false, got "
        "'sometimes'"
    )
    late = ruleset("{fact: event.attributes.visited_on, above: yesterday}", on="service")
    assert problems(late) == refused(
        "wrong type for 'event.attributes.visited_on' above: expected a date like 2026-12-24, "
        "got 'yesterday'"
    )


def test_an_attribute_of_two_types_is_tested_in_separate_rules() -> None:
    text = ruleset("{fact: event.attributes.cost, exists: true}", on="service, complaint")
    assert problems(text) == refused(
        "'event.attributes.cost' is money for service events but word for complaint events: "
        "test it in separate rules"
    )


def test_the_events_the_service_raises_have_fixed_attributes() -> None:
    good = ruleset("{fact: event.attributes.to, is: GOLD}",
                   "{fact: event.attributes.direction, is: up}", on="tier_changed")
    assert problems(good) == []
    bad = ruleset("{fact: event.attributes.stage, is: steady}", on="lifecycle_changed")
    assert problems(bad) == refused(
        "'event.attributes.stage' can never be 'steady': the stage of lifecycle_changed events "
        "is one of new, dormant, growing, mature, declining, lapsed, churned"
    )


# ---- the declarations in program.yaml -------------------------------------------------------


def program_problems(events: str) -> list[str]:
    program = "currency: CNY\nevents:\n" + events
    return problems(ruleset("{fact: event.total, above: 1}"), program=program)


def test_an_unknown_attribute_type_is_refused_with_its_line_and_the_type_meant() -> None:
    assert program_problems("  service:\n    attributes:\n      cost: monee\n") == [
        "program.yaml:5: attribute 'cost' of 'service': unknown type 'monee' (did you mean "
        "'money'?); the types are number, money, word, yes/no, date, list"
    ]


def test_only_a_word_lists_its_values() -> None:
    events = "  service:\n    attributes:\n      cost: {type: money, values: [a, b]}\n"
    assert program_problems(events) == [
        "program.yaml:5: attribute 'cost' of 'service': only a word attribute lists values"
    ]


def test_the_events_the_service_raises_cannot_be_redeclared() -> None:
    assert program_problems("  birthday:\n    attributes:\n      age: word\n") == [
        "program.yaml:3: event 'birthday' is raised by the service, which fixes its "
        "attributes: leave it out of events"
    ]


def test_a_misspelt_event_setting_is_refused() -> None:
    assert program_problems("  service:\n    atributes:\n      cost: money\n") == [
        "program.yaml:4: unknown setting 'atributes' in 'service' (did you mean 'attributes'?)"
    ]


def test_a_channel_listed_twice_is_refused() -> None:
    program = "currency: CNY\nchannels: [store, web, Store]\n"
    assert problems(ruleset("{fact: event.total, above: 1}"), program=program) == [
        "program.yaml:2: channels: 'Store' appears twice"
    ]


# ---- the guide's own examples ---------------------------------------------------------------


def _guide_files() -> dict[str, str]:
    """The complete files the guide (rules/README.md) shows, by the file they would be."""
    guide = (RULES_DIR / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", guide, flags=re.DOTALL)
    files = {}
    for block in blocks:
        first = block.split(":", 1)[0]
        if first == "currency":
            files["program.yaml"] = block
        elif first == "rewards":
            files["rewards.yaml"] = block
        elif first == "products":
            files["catalogue.yaml"] = block
        elif first == "ruleset":
            files[f"{block.split()[1]}.yaml"] = block
    return files


def test_the_guide_s_program_rewards_and_rulesets_pass_the_check() -> None:
    files = _guide_files()
    assert sorted(files) == ["catalogue.yaml", "earning.yaml", "program.yaml", "retention.yaml",
                             "rewards.yaml"]
    assert check_rules(files) == []


def test_a_programme_declaring_no_events_keeps_its_attribute_rules_valid() -> None:
    """Rule versions activated before attributes were declared have no `events:` block: they
    stay valid (a stored version must keep loading after an upgrade), with the tills'
    attributes free-form as they were; once `events:` is declared, attributes are checked."""
    from loyalty.engine import read_rule_dir

    files = read_rule_dir(RULES_DIR)
    program = files["program.yaml"]
    without = program[:program.index("\nevents:")] + "\n"
    assert "event.attributes.outcome" in files["care.yaml"]
    assert check_rules({**files, "program.yaml": without}) == []
    empty = without + "events: {}\n"
    problems = [str(p) for p in check_rules({**files, "program.yaml": empty})]
    assert any("'event.attributes.outcome' is not an attribute of" in p for p in problems)
