"""Metrics declared in program.yaml: the check reports every mistake in them with its file and
line, their figures are facts rules test (`stats.nights_365d`), and tiers and VIP may use them,
a tier level qualifying by other metrics too (`or:`)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from loyalty.engine import build_rulebook, check_rules
from loyalty.engine.rulebook import analyse
from tests.unit.engine.conftest import snapshot

EVENTS = """events:
  shipment:
    attributes: {tonnes: number, fee: money, lane: word}
"""
METRICS = """metrics:
  nights:
    description: Nights stayed
    sum: line.quantity
    categories: [room-night]
  stays:
    count: purchase
    categories: [room-night]
    skus: [SUITE-1]
  tonnage:
    sum: event.attributes.tonnes
    event: shipment
  fees:
    sum: event.attributes.fee
    event: shipment
"""
TIERS = """tiers:
  metric: nights_365d
  levels:
    - {tier: member, threshold: 0}
    - {tier: silver, threshold: 10}
    - {tier: gold, threshold: 30, or: {stays_365d: 15}}
"""
RULES = """ruleset: earning
on: [purchase]
rules:
  - id: base
    description: one point
    then:
      - award_points: {points: 1}
"""


def program(*parts: str) -> str:
    return "currency: CNY\n" + "".join(parts)


def problems(text: str, rules: str = RULES) -> list[str]:
    return [str(p) for p in check_rules({"program.yaml": text, "earning.yaml": rules})]


def probe(*tests: str, on: str = "purchase") -> str:
    """A ruleset (earning.yaml) of one rule 'probe' whose tests start at line 7."""
    when = "".join(f"      - {test}\n" for test in tests)
    return (f"ruleset: probe\non: [{on}]\nrules:\n  - id: probe\n    description: a probe\n"
            f"    when:\n{when}    then:\n      - award_points: {{points: 1}}\n")


def test_a_programme_with_metrics_tiers_and_vip_by_them_checks_clean() -> None:
    text = program(EVENTS, METRICS, TIERS, "vip:\n  metric: tonnage_365d\n  min_value: 500\n")
    assert problems(text, probe("{fact: stats.nights_365d, at_least: 20}",
                                "{fact: stats.fees_lifetime, above: 99.5}")) == []
    policy = analyse({"program.yaml": text, "earning.yaml": RULES}).policy
    assert [(m.name, m.measure, m.fact_type) for m in policy.metrics] == [
        ("nights", "units", "integer"), ("stays", "purchases", "integer"),
        ("tonnage", "attribute", "number"), ("fees", "attribute", "money")]
    assert policy.tiers is not None and policy.tiers.metrics == ("nights_365d", "stays_365d")
    assert policy.tiers.levels[2].alternatives == (("stays_365d", Decimal(15)),)
    assert policy.vip.metric == "tonnage_365d"


@pytest.mark.parametrize(("metrics", "line", "message"), [
    ("  nights: {sum: line.quantity, categories: []}\n", 6,
     "metric 'nights': categories lists one or more, like [room-night]"),
    ("  nights: {count: purchase, skus: [A, a]}\n", 6,
     "metric 'nights': 'a' appears twice in skus"),
    ("  tonnage: {sum: event.attributes.tonnes, event: shipments}\n", 6,
     "metric 'tonnage': event 'shipments' is not declared under events: in program.yaml "
     "(did you mean 'shipment'?)"),
    ("  tonnage: {sum: event.attributes.tons, event: shipment}\n", 6,
     "metric 'tonnage': shipment events declare no attribute 'tons' (did you mean 'tonnes'?)"),
    ("  lanes: {sum: event.attributes.lane, event: shipment}\n", 6,
     "metric 'lanes': the lane of shipment events is word, and a metric sums a number or money "
     "attribute"),
    ("  tonnage: {sum: event.attributes.tonnes}\n", 6,
     "metric 'tonnage': a sum of event.attributes.tonnes needs event: naming the type of event "
     "that carries it"),
    ("  spend: {sum: line.quantity}\n", 6,
     "metric 'spend': its figure spend_30d is a built-in statistic; choose another name"),
    ("  points: {count: purchase}\n", 6,
     "metric 'points': its figure points_365d is a built-in statistic; choose another name"),
    ("  Nights: {sum: line.quantity}\n", 6,
     "metric 'Nights': use a lowercase name like nights (letters, digits and _, at most 40)"),
    ("  nights: {sum: line.amount}\n", 6,
     "metric 'nights': sum is line.quantity (units of purchase lines) or "
     "event.attributes.<name> (an attribute of events), not 'line.amount'"),
    ("  nights: {count: shipment}\n", 6,
     "metric 'nights': count counts purchases (count: purchase), not 'shipment'"),
    ("  nights: {sum: line.quantity, count: purchase}\n", 6,
     "metric 'nights' either sums (sum: line.quantity or sum: event.attributes.<name>) or "
     "counts (count: purchase)"),
    ("  nights: {sum: line.quantity, event: shipment}\n", 6,
     "metric 'nights': event names the events whose attribute it sums; purchases need no event"),
    ("  tonnage: {sum: event.attributes.tonnes, event: shipment, categories: [x]}\n", 6,
     "metric 'tonnage': categories choose purchase lines; events have none"),
    ("  nights: {sum: line.quantity, categorys: [room]}\n", 6,
     "unknown setting 'categorys' in metric 'nights' (did you mean 'categories'?)"),
    ("  nights:\n    sum: line.quantity\n    categories:\n      - room\n      - ''\n", 10,
     "metric 'nights': each of categories is a code, not ''"),
])
def test_a_mistake_in_a_metric_is_reported_at_its_line(metrics: str, line: int,
                                                         message: str) -> None:
    assert problems(program(EVENTS, "metrics:\n", metrics)) == [f"program.yaml:{line}: {message}"]


def test_a_tier_or_vip_metric_that_is_not_declared_is_reported_at_its_line() -> None:
    tiers = TIERS.replace("metric: nights_365d", "metric: nigths_365d")
    found = problems(program(EVENTS, METRICS, tiers, "vip:\n  metric: tonnage_366d\n"))
    assert len(found) == 2
    assert found[0].startswith("program.yaml:21: tiers.metric is one of spend_30d, ")
    assert found[0].endswith("not 'nigths_365d' (did you mean 'nights_365d'?)")
    assert "stays_lifetime" in found[0]
    assert found[1].startswith("program.yaml:27: vip.metric is one of ")
    assert found[1].endswith("(did you mean 'tonnage_365d'?)")


@pytest.mark.parametrize(("level", "message"), [
    ("{tier: gold, threshold: 30, or: {stay_365d: 15}}",
     "tier 'gold': unknown metric 'stay_365d' in 'or' (did you mean 'stays_365d'?); declare your "
     "own under metrics: in program.yaml"),
    ("{tier: gold, threshold: 30, or: {nights_365d: 15}}",
     "tier 'gold': nights_365d is the ladder's own metric (tiers.metric); 'or' names other "
     "metrics"),
    ("{tier: gold, threshold: 30, or: {stays_365d: lots}}",
     "tier 'gold': the threshold of stays_365d must be a number from 0 to 1,000,000,000,000"),
    ("{tier: gold, threshold: 30, or: {stays_365d: 5}}",
     "tier 'gold': stays_365d 5 does not rise above tier 'silver''s 8: thresholds must rise from "
     "the lowest tier to the highest"),
    ("{tier: gold, threshold: 30, or: []}",
     "tier 'gold': 'or' maps other metrics to their thresholds, like {stays_365d: 15}"),
])
def test_a_mistake_in_a_tier_or_is_reported_at_its_line(level: str, message: str) -> None:
    tiers = ("tiers:\n  metric: nights_365d\n  levels:\n    - {tier: member, threshold: 0}\n"
             "    - {tier: silver, threshold: 10, or: {stays_365d: 8}}\n"
             f"    - {level}\n")
    assert problems(program(EVENTS, METRICS, tiers)) == [f"program.yaml:25: {message}"]


def test_a_mistake_in_a_tier_or_leaves_the_tier_known_to_the_rules_naming_it() -> None:
    tiers = TIERS.replace("or: {stays_365d: 15}", "or: {stays_356d: 15}")
    rules = probe("{fact: member.tier, is: gold}")
    assert problems(program(EVENTS, METRICS, tiers), rules) == [
        "program.yaml:25: tier 'gold': unknown metric 'stays_356d' in 'or' (did you mean "
        "'stays_365d'?); declare your own under metrics: in program.yaml"]


def test_an_or_on_the_lowest_tier_is_reported_as_qualifying_nobody() -> None:
    tiers = TIERS.replace("{tier: member, threshold: 0}",
                          "{tier: member, threshold: 0, or: {stays_365d: 1}}")
    assert problems(program(EVENTS, METRICS, tiers)) == [
        "program.yaml:23: tier 'member' is the lowest, every member's: 'or' cannot qualify "
        "anyone for it"]


def test_a_figure_of_no_declared_metric_is_an_unknown_fact_with_the_figure_meant() -> None:
    found = problems(program(EVENTS, METRICS), probe("{fact: stats.nigths_365d, above: 3}"))
    assert found == ["earning.yaml:7: rule 'probe': unknown fact 'stats.nigths_365d' (did you "
                     "mean 'stats.nights_365d'?)"]
    assert problems(program(EVENTS), probe("{fact: stats.nights_365d, above: 3}"))[0].startswith(
        "earning.yaml:7: rule 'probe': unknown fact 'stats.nights_365d'")


def test_a_figure_is_compared_as_its_type() -> None:
    found = problems(program(EVENTS, METRICS), probe("{fact: stats.stays_90d, at_least: 2.5}",
                                                     "{fact: stats.tonnage_30d, is: heavy}"))
    assert found == [
        "earning.yaml:7: rule 'probe': wrong type for 'stats.stays_90d' at_least: expected a whole "
        "number, got 2.5",
        "earning.yaml:8: rule 'probe': wrong type for 'stats.tonnage_30d' is: expected a number, "
        "like 3 or 4.5, got 'heavy'",
    ]


def test_rules_test_the_figures_the_snapshot_carries() -> None:
    files = {"program.yaml": program(EVENTS, METRICS), "earning.yaml": probe(
        "{fact: stats.nights_365d, at_least: 20}", "{fact: stats.fees_90d, below: 100.5}")}
    book = build_rulebook(files, "v1")
    enough = {"metrics": {"nights_365d": Decimal(20), "fees_90d": Decimal("100.25")}}
    assert [d.rule_id for d in book.evaluate(snapshot(stats=enough))] == ["probe"]
    short = {"metrics": {"nights_365d": Decimal(19), "fees_90d": Decimal("100.25")}}
    assert book.evaluate(snapshot(stats=short)) == []
    assert book.evaluate(snapshot()) == []  # no figures: unknown, no test on them holds


def test_the_guide_s_metrics_and_tier_or_examples_pass_the_check() -> None:
    guide = (Path(__file__).resolve().parents[3] / "rules" / "README.md").read_text("utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", guide, flags=re.DOTALL)
    metrics = next(block for block in blocks if block.startswith("metrics:"))
    tiers = next(block for block in blocks if block.startswith("tiers:\n  metric: nights_365d"))
    events = "events:\n  shipment:\n    attributes: {tonnes: number}\n"
    assert problems(program(events, metrics, tiers)) == []
