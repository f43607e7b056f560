"""How two sets of rule files are compared: rule by rule, setting by setting, in plain words."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

from loyalty.engine import read_rule_dir
from loyalty.services.rule_diff import FieldChange, RuleChange, diff_files

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

EARNING = dedent("""\
    # How members earn points.
    ruleset: earning
    on: [purchase]
    rules:
      - id: base-earn
        description: 1 point for every 1 CNY spent
        priority: 10
        then:
          - award_points: {per_currency_unit: 1}

      - id: weekend-double
        description: Double points at the weekend
        priority: 20
        when:
          - {fact: event.weekday, in: [saturday, sunday]}
          - {fact: event.channel, is_not: web}
        then:
          - multiply_points: {by: 2, of: [base-earn]}
        limit: {times: 1, per: day}
    """)

GIFTS = dedent("""\
    ruleset: gifts
    on: [purchase]
    rules:
      - id: fridge-ice-maker
        description: Buy a refrigerator, get an ice maker
        when:
          any_line: {fact: line.category, is: fridge}
        then:
          - grant_reward: {reward: ICE-MAKER, quantity: 1, valid_days: 90}
          - notify: {notification: gift-granted, message: "Your ice maker is waiting."}
    """)

REWARDS = dedent("""\
    rewards:
      - id: ICE-MAKER
        name: Countertop ice maker
        kind: product
        stock: 500
      - id: CINEMA-PAIR
        name: Two cinema tickets
        kind: partner
        points_cost: 1500
    """)

PROGRAM = dedent("""\
    currency: CNY
    point_value: 0.01
    points: {pending_days: 14, expiry: months_after_earning, expiry_months: 24}
    tiers:
      metric: spend_365d
      levels:
        - {tier: member, threshold: 0}
        - {tier: gold, threshold: 20000, description: "20,000 CNY in 12 months"}
    channels: [store, web, app]
    events:
      complaint:
        attributes:
          outcome: {type: word, values: [upheld, rejected]}
    """)

FILES = {"earning.yaml": EARNING, "gifts.yaml": GIFTS, "program.yaml": PROGRAM,
         "rewards.yaml": REWARDS}


def edited(name: str, before: str, after: str, files: dict[str, str] = FILES) -> dict[str, str]:
    """A copy of `files` with one text replaced in one file."""
    assert before in files[name], before
    return {**files, name: files[name].replace(before, after)}


def test_same_files_have_no_differences() -> None:
    diff = diff_files(FILES, dict(FILES))

    assert diff.unchanged
    assert diff.lines() == ["no differences"]
    assert diff.as_dict() == {"unchanged": True, "files_added": [], "files_removed": [],
                              "changes": [], "lines": ["no differences"]}


def test_a_changed_value_of_a_rule_is_one_line_naming_rule_file_and_field() -> None:
    diff = diff_files(FILES, edited("earning.yaml", "by: 2,", "by: 3,"))

    assert diff.lines() == [
        "rule weekend-double (earning.yaml) changed: then.multiply_points.by: 2 -> 3"
    ]
    assert diff.changes == (
        RuleChange("changed", "rule", "weekend-double", "earning.yaml", None,
                   (FieldChange("then.multiply_points.by", 2, 3),)),
    )


def test_limit_window_and_condition_changes_each_get_their_line() -> None:
    new = edited("earning.yaml", "limit: {times: 1, per: day}",
                 "limit: {times: 2, per: day}\n    until: 2026-12-31")
    new = edited("earning.yaml", "is_not: web", "is_not: app", new)

    assert diff_files(FILES, new).lines() == [
        "rule weekend-double (earning.yaml) changed: when.event.channel.is_not: web -> app",
        "rule weekend-double (earning.yaml) changed: limit.times: 1 -> 2",
        "rule weekend-double (earning.yaml) changed: until: added 2026-12-31",
    ]


def test_an_added_rule_is_described_by_its_description() -> None:
    new = edited("earning.yaml", "rules:\n", dedent("""\
        rules:
          - id: summer-bonus
            description: 500 bonus points this summer
            from: 2026-06-01
            then:
              - award_points: {points: 500}
        """))

    diff = diff_files(FILES, new)

    assert diff.lines() == [
        "rule summer-bonus (earning.yaml) added: 500 bonus points this summer"
    ]
    (change,) = diff.changes
    assert change.kind == "added"
    assert change.old_file is None
    assert [field.words() for field in change.fields] == [
        "id: added summer-bonus",
        "description: added 500 bonus points this summer",
        "from: added 2026-06-01",
        "then: added [{award_points: {points: 500}}]",
    ]


def test_a_removed_rule_is_named_with_the_file_it_was_in() -> None:
    start = EARNING.index("  - id: weekend-double")
    new = {**FILES, "earning.yaml": EARNING[:start]}

    diff = diff_files(FILES, new)

    assert diff.lines() == [
        "rule weekend-double (earning.yaml) removed: Double points at the weekend"
    ]
    assert diff.changes[0].kind == "removed"
    assert diff.changes[0].file == "earning.yaml"


def test_a_rule_moved_to_another_file_is_moved_with_its_changes() -> None:
    start = EARNING.index("  - id: weekend-double")
    block = EARNING[start:].replace("priority: 20", "priority: 25")
    new = {**FILES, "earning.yaml": EARNING[:start], "gifts.yaml": GIFTS + block}

    diff = diff_files(FILES, new)

    assert diff.lines() == [
        "rule weekend-double moved from earning.yaml to gifts.yaml",
        "rule weekend-double (gifts.yaml) changed: priority: 20 -> 25",
    ]
    (change,) = diff.changes
    assert (change.kind, change.file, change.old_file) == ("moved", "gifts.yaml", "earning.yaml")


def test_a_rule_moved_unchanged_says_only_that_it_moved() -> None:
    start = EARNING.index("  - id: weekend-double")
    new = {**FILES, "earning.yaml": EARNING[:start], "gifts.yaml": GIFTS + EARNING[start:]}

    assert diff_files(FILES, new).lines() == [
        "rule weekend-double moved from earning.yaml to gifts.yaml"
    ]


def test_a_renamed_file_reports_the_file_and_every_entry_as_moved() -> None:
    new = {name: text for name, text in FILES.items() if name != "gifts.yaml"}
    new["presents.yaml"] = GIFTS

    assert diff_files(FILES, new).lines() == [
        "file presents.yaml added",
        "file gifts.yaml removed",
        "ruleset gifts moved from gifts.yaml to presents.yaml",
        "rule fridge-ice-maker moved from gifts.yaml to presents.yaml",
    ]


def test_a_reward_cost_change_names_the_reward() -> None:
    diff = diff_files(FILES, edited("rewards.yaml", "points_cost: 1500", "points_cost: 1800"))

    assert diff.lines() == [
        "reward CINEMA-PAIR (rewards.yaml) changed: points_cost: 1500 -> 1800"
    ]
    assert diff.changes[0].section == "reward"


def test_a_new_reward_is_described_by_its_name() -> None:
    new = {**FILES, "rewards.yaml": REWARDS + "  - {id: MUG, name: Club mug, kind: product}\n"}

    assert diff_files(FILES, new).lines() == ["reward MUG (rewards.yaml) added: Club mug"]


def test_a_tier_threshold_change_names_the_tier() -> None:
    diff = diff_files(FILES, edited("program.yaml", "threshold: 20000", "threshold: 25000"))

    assert diff.lines() == ["tier gold (program.yaml) changed: threshold: 20000 -> 25000"]


def test_programme_settings_are_compared_by_their_path() -> None:
    new = edited("program.yaml", "pending_days: 14", "pending_days: 30")
    new = edited("program.yaml", "metric: spend_365d", "metric: lifetime_spend\n  grace_days: 30",
                 new)
    new = edited("program.yaml", "currency: CNY", "currency: EUR", new)

    assert diff_files(FILES, new).lines() == [
        "programme currency (program.yaml) changed: CNY -> EUR",
        "programme points (program.yaml) changed: pending_days: 14 -> 30",
        "programme tiers (program.yaml) changed: metric: spend_365d -> lifetime_spend",
        "programme tiers (program.yaml) changed: grace_days: added 30",
    ]


def test_a_new_tier_and_a_declared_event_are_entries_of_their_own() -> None:
    new = edited("program.yaml", "    - {tier: gold",
                 "    - {tier: silver, threshold: 5000}\n    - {tier: gold")
    new = edited("program.yaml", "events:\n", "events:\n  webinar_attended:\n", new)
    new = edited("program.yaml", "values: [upheld, rejected]", "values: [upheld, rejected, open]",
                 new)

    assert diff_files(FILES, new).lines() == [
        "tier silver (program.yaml) added: {threshold: 5000}",
        "event complaint (program.yaml) changed: attributes.outcome.values: added open",
        "event webinar_attended (program.yaml) added",
    ]


def test_lists_of_words_show_the_words_added_and_removed() -> None:
    new = edited("program.yaml", "channels: [store, web, app]", "channels: [store, app, kiosk]")
    new = edited("earning.yaml", "in: [saturday, sunday]", "in: [friday, saturday, sunday]", new)
    new = edited("earning.yaml", "on: [purchase]", "on: [purchase, return]", new)

    assert diff_files(FILES, new).lines() == [
        "ruleset earning (earning.yaml) changed: on: added return",
        "rule weekend-double (earning.yaml) changed: when.event.weekday.in: added friday",
        "programme channels (program.yaml) changed: added kiosk; removed web",
    ]


def test_a_list_of_words_in_another_order_shows_both_orders() -> None:
    new = edited("earning.yaml", "in: [saturday, sunday]", "in: [sunday, saturday]")

    assert diff_files(FILES, new).lines() == [
        "rule weekend-double (earning.yaml) changed: "
        "when.event.weekday.in: [saturday, sunday] -> [sunday, saturday]"
    ]


def test_comments_layout_key_order_and_rule_order_are_not_differences() -> None:
    rewritten = dedent("""\
        ruleset: earning
        on:
          - purchase       # only purchases
        rules:
          - id: weekend-double
            limit:
              per: day
              times: 1
            then:
              - multiply_points:
                  of: [base-earn]
                  by: 2
            when:
              - {fact: event.channel, is_not: web}
              - fact: event.weekday
                in: [saturday, sunday]
            priority: 20
            description: "Double points at the weekend"

          - priority: 10
            id: base-earn
            then: [{award_points: {per_currency_unit: 1}}]
            description: 1 point for every 1 CNY spent
        """)

    diff = diff_files(FILES, {**FILES, "earning.yaml": rewritten})

    assert diff.unchanged
    assert diff.lines() == ["no differences"]


def test_effects_are_told_apart_by_what_they_give() -> None:
    new = edited("gifts.yaml", "valid_days: 90", "valid_days: 60")
    new = edited("gifts.yaml", "message: \"Your ice maker is waiting.\"",
                 "message: \"Your ice maker is waiting, at the desk.\"", new)

    assert diff_files(FILES, new).lines() == [
        "rule fridge-ice-maker (gifts.yaml) changed: then.grant_reward[ICE-MAKER].valid_days: "
        "90 -> 60",
        "rule fridge-ice-maker (gifts.yaml) changed: then.notify[gift-granted].message: "
        "Your ice maker is waiting. -> Your ice maker is waiting, at the desk.",
    ]


def test_an_effect_added_to_a_rule_is_shown_as_written() -> None:
    new = edited("gifts.yaml", "      - notify:", "      - add_tag: {tag: fridge-owner}\n"
                 "      - notify:")

    assert diff_files(FILES, new).lines() == [
        "rule fridge-ice-maker (gifts.yaml) changed: then.add_tag[fridge-owner]: "
        "added {tag: fridge-owner}"
    ]


def test_decimals_keep_their_written_digits_and_dates_read_as_iso() -> None:
    new = edited("earning.yaml", "by: 2,", "by: 1.50,")
    new = edited("program.yaml", "point_value: 0.01", "point_value: 0.010", new)

    diff = diff_files(FILES, new)

    assert diff.lines() == [
        "rule weekend-double (earning.yaml) changed: then.multiply_points.by: 2 -> 1.50",
    ]
    assert diff.as_dict()["changes"][0]["fields"][0] == {
        "path": "then.multiply_points.by", "old": 2, "new": "1.50",
        "words": "then.multiply_points.by: 2 -> 1.50",
    }


def test_yes_or_no_is_not_the_same_as_a_number() -> None:
    new = edited("earning.yaml", "{fact: event.channel, is_not: web}",
                 "{fact: member.vip, is: true}")
    newer = edited("earning.yaml", "{fact: event.channel, is_not: web}",
                   "{fact: member.vip, is: 1}")

    assert diff_files(new, newer).lines() == [
        "rule weekend-double (earning.yaml) changed: when.member.vip.is: true -> 1"
    ]


def test_a_draft_that_is_not_valid_yaml_is_reported_and_the_rest_still_compared() -> None:
    broken = edited("earning.yaml", "on: [purchase]", "on: [purchase")
    broken = edited("rewards.yaml", "points_cost: 1500", "points_cost: 1800", broken)

    diff = diff_files(FILES, broken)

    assert diff.lines() == [
        "earning.yaml cannot be read: line 3: YAML syntax: while parsing a flow sequence "
        "expected ',' or ']', but got ':' (noticed on line 4)",
        "reward CINEMA-PAIR (rewards.yaml) changed: points_cost: 1500 -> 1800",
    ]
    assert not diff.unchanged
    unreadable = diff.as_dict()["changes"][0]
    assert (unreadable["kind"], unreadable["file"], unreadable["old_file"]) == (
        "unreadable", "earning.yaml", None)
    assert unreadable["reason"].startswith("line 3: YAML syntax")


def test_a_draft_with_yaml_anchors_is_refused_as_the_engine_refuses_it() -> None:
    draft = edited("rewards.yaml", "kind: partner", "kind: &k partner\n    other: *k")

    assert diff_files(FILES, draft).lines() == [
        "rewards.yaml cannot be read: line 8: YAML anchors and aliases are not allowed "
        "(write the value out in full)"
    ]


def test_an_identical_file_is_skipped_even_when_it_cannot_be_read() -> None:
    files = {**FILES, "draft.yaml": "rules: [\n"}

    assert diff_files(files, dict(files)).lines() == ["no differences"]


def test_added_and_removed_files_are_listed_first() -> None:
    new = {name: text for name, text in FILES.items() if name != "gifts.yaml"}
    new["summer.yaml"] = dedent("""\
        ruleset: summer
        description: Summer promotions
        on: [purchase]
        rules:
          - {id: summer-bonus, description: 300 summer points, then: [award_points: {points: 300}]}
        """)

    assert diff_files(FILES, new).lines() == [
        "file summer.yaml added",
        "file gifts.yaml removed",
        "ruleset gifts (gifts.yaml) removed: {on: [purchase]}",
        "rule fridge-ice-maker (gifts.yaml) removed: Buy a refrigerator, get an ice maker",
        "ruleset summer (summer.yaml) added: Summer promotions",
        "rule summer-bonus (summer.yaml) added: 300 summer points",
    ]


def test_as_dict_is_plain_json() -> None:
    new = edited("earning.yaml", "limit: {times: 1, per: day}",
                 "limit: {times: 1, per: day}\n    from: 2026-06-01")

    result = diff_files(FILES, new).as_dict()

    assert json.loads(json.dumps(result)) == result
    assert result["changes"] == [{
        "kind": "changed", "section": "rule", "key": "weekend-double", "file": "earning.yaml",
        "old_file": None,
        "fields": [{"path": "from", "old": None, "new": "2026-06-01",
                    "words": "from: added 2026-06-01"}],
        "words": ["rule weekend-double (earning.yaml) changed: from: added 2026-06-01"],
    }]
    assert result["lines"] == result["changes"][0]["words"]
    assert result["unchanged"] is False


def test_the_bundled_rules_against_a_copy_with_one_value_edited() -> None:
    bundled = read_rule_dir(RULES_DIR)
    assert diff_files(bundled, dict(bundled)).unchanged
    copy = edited("gifts.yaml", "limit: {times: 2, per: year}", "limit: {times: 3, per: year}",
                  bundled)

    diff = diff_files(bundled, copy)

    assert diff.lines() == ["rule fridge-ice-maker (gifts.yaml) changed: limit.times: 2 -> 3"]


def test_the_bundled_programme_with_a_tier_threshold_edited() -> None:
    bundled = read_rule_dir(RULES_DIR)
    copy = edited("program.yaml", "threshold: 50000", "threshold: 60000", bundled)

    assert diff_files(bundled, copy).lines() == [
        "tier platinum (program.yaml) changed: threshold: 50000 -> 60000"
    ]


def test_a_date_written_in_quotes_is_text_and_shown_in_quotes() -> None:
    dated = edited("earning.yaml", "priority: 20", "priority: 20\n    until: 2026-12-31")
    quoted = edited("earning.yaml", "priority: 20", "priority: 20\n    until: '2026-12-31'")

    assert diff_files(dated, quoted).lines() == [
        "rule weekend-double (earning.yaml) changed: until: 2026-12-31 -> \"2026-12-31\""
    ]


def test_a_rule_id_used_twice_in_a_draft_is_counted_apart() -> None:
    draft = {**FILES, "gifts.yaml": GIFTS + "  - {id: fridge-ice-maker, description: Again}\n"}

    assert diff_files(FILES, draft).lines() == [
        "rule fridge-ice-maker[2] (gifts.yaml) added: Again"
    ]


def test_a_product_of_the_catalogue_is_named_by_its_code() -> None:
    bundled = read_rule_dir(RULES_DIR)
    catalogue = bundled["catalogue.yaml"]
    edited_text = catalogue.replace("price: 5999, warranty_months: 24",
                                    "price: 5799, warranty_months: 36")
    new = {**bundled, "catalogue.yaml": edited_text
           + "  - {sku: TOASTER-2, name: Toaster, category: small-kitchen}\n"}

    assert diff_files(bundled, new).lines() == [
        "product FRIDGE-500L (catalogue.yaml) changed: price: 5999 -> 5799",
        "product FRIDGE-500L (catalogue.yaml) changed: warranty_months: 24 -> 36",
        "product TOASTER-2 (catalogue.yaml) added: Toaster",
    ]
