"""The history facts (`events.<type>.*`, `products.*`) and catalogue.yaml: what the check refuses
(with file, line and the name probably meant), what the engine reads from a snapshot, and what
a rule book says it needs of the member's history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from loyalty.domain.catalogue import Product, add_months
from loyalty.domain.history import EventHistory, HistoryNeeds, Holding
from loyalty.engine import build_rulebook, check_rules
from tests.unit.engine.conftest import snapshot

PROGRAM = """currency: CNY
events:
  service:
    attributes:
      cost: money
  webinar_attended:
"""
CATALOGUE = """products:
  - {sku: FRIDGE-500L, name: 500 l refrigerator, category: fridge, price: 5999, warranty_months: 24}
  - {sku: FRIDGE-300L, name: 300 l refrigerator, category: fridge, price: 3999, warranty_months: 24}
  - {sku: KETTLE-1, name: Kettle, category: small-kitchen, price: 199.50, warranty_months: 12}
  - {sku: MUG-1, name: Mug, category: homeware, price: 39}
"""


def ruleset(*tests: str, on: str = "service") -> str:
    """A ruleset file of one rule 'probe' testing each of `tests`, one per line from line 7."""
    when = "".join(f"      - {test}\n" for test in tests)
    return (f"ruleset: probe\non: [{on}]\nrules:\n  - id: probe\n    description: a probe\n"
            f"    when:\n{when}    then:\n      - award_points: {{points: 1}}\n")


def files(text: str, catalogue: str | None = CATALOGUE) -> dict[str, str]:
    found = {"program.yaml": PROGRAM, "probe.yaml": text}
    if catalogue is not None:
        found["catalogue.yaml"] = catalogue
    return found


def problems(text: str, catalogue: str | None = CATALOGUE) -> list[str]:
    return [str(problem) for problem in check_rules(files(text, catalogue))]


def refused(message: str, line: int = 7) -> list[str]:
    return [f"probe.yaml:{line}: rule 'probe': {message}"]


# ---- events.<type>.* ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "events.service.count_30d", "events.service.count_90d", "events.complaint.count_365d",
    "events.birthday.count_lifetime", "events.webinar_attended.days_since_last",
    "events.return.count_90d", "events.tier_changed.count_365d"])
def test_the_history_of_every_event_type_but_purchases_may_be_tested(path: str) -> None:
    assert problems(ruleset(f"{{fact: {path}, at_least: 1}}")) == []


def test_an_unknown_event_type_is_refused_with_the_one_probably_meant() -> None:
    assert problems(ruleset("{fact: events.servce.count_365d, at_least: 2}")) == refused(
        "unknown event 'servce' in 'events.servce.count_365d' (did you mean 'service'?)")
    assert problems(ruleset("{fact: events.seminar.count_365d, at_least: 2}")) == refused(
        "unknown event 'seminar' in 'events.seminar.count_365d': declare your own events "
        "under events: in program.yaml")


def test_an_unknown_measure_is_refused_with_the_one_probably_meant() -> None:
    assert problems(ruleset("{fact: events.service.count_356d, at_least: 2}")) == refused(
        "unknown measure 'count_356d' in 'events.service.count_356d' (did you mean "
        "'count_365d'?); the measures are count_30d, count_90d, count_365d, count_lifetime, "
        "days_since_last")
    (problem,) = problems(ruleset("{fact: events.service, at_least: 2}"))
    assert problem.startswith("probe.yaml:7: rule 'probe': unknown fact 'events.service': the "
                              "history of an event is events.<event>.<measure>")


def test_purchases_are_counted_by_the_statistics_not_by_events() -> None:
    (problem,) = problems(ruleset("{fact: events.purchase.count_30d, at_least: 1}"))
    assert "purchases are described by stats.*" in problem


def test_a_misspelt_prefix_suggests_the_history_fact() -> None:
    assert problems(ruleset("{fact: event.complaint.days_since_last, below: 30}")) == refused(
        "unknown fact 'event.complaint.days_since_last' (did you mean "
        "'events.complaint.days_since_last'?)")


def test_history_facts_are_whole_numbers() -> None:
    (problem,) = problems(ruleset("{fact: events.service.count_30d, at_least: 1.5}"))
    assert "wrong type for 'events.service.count_30d' at_least: expected a whole number" in problem
    (problem,) = problems(ruleset("{fact: events.service.count_30d, contains: x}"))
    assert "'contains' cannot be used on integer fact" in problem


# ---- catalogue.yaml ---------------------------------------------------------------------------


def catalogue_problems(text: str) -> list[str]:
    return [str(problem) for problem in check_rules(files(ruleset(
        "{fact: member.tier, is: member}"), text))]


def test_every_problem_of_a_catalogue_is_on_its_line() -> None:
    text = CATALOGUE + """  - {name: No code, category: fridge}
  - {sku: NO-CATEGORY, price: 10}
  - {sku: fridge-500l, category: fridge}
  - {sku: CHEAP, category: mugs, price: -1}
  - {sku: FOREVER, category: mugs, warranty_months: 1201}
  - {sku: HALF, category: mugs, warranty_months: 1.5, colour: red}
  - {sku: NAN, category: mugs, price: .nan}
"""
    assert catalogue_problems(text) == [
        "catalogue.yaml:6: every product needs a 'sku'",
        "catalogue.yaml:7: product 'NO-CATEGORY' needs a 'category'",
        "catalogue.yaml:8: sku 'fridge-500l' is listed twice (first on line 2)",
        "catalogue.yaml:9: product 'CHEAP': price is an amount of money from 0 to "
        "1,000,000,000,000 (at most 4 decimal places), like 5999 or 49.90, not -1",
        "catalogue.yaml:10: product 'FOREVER': warranty_months is a whole number of months "
        "from 0 to 1,200, not 1201",
        "catalogue.yaml:11: unknown key 'colour' in a product",
        "catalogue.yaml:11: product 'HALF': warranty_months is a whole number of months from 0 "
        "to 1,200, not 1.5",
        "catalogue.yaml:12: product 'NAN': price is an amount of money from 0 to "
        "1,000,000,000,000 (at most 4 decimal places), like 5999 or 49.90, not nan",
    ]


@pytest.mark.parametrize("text", ["products: []\n", "products: fridge\n", "- sku: A\n"])
def test_a_catalogue_lists_its_products_under_products(text: str) -> None:
    (problem,) = catalogue_problems(text)
    assert "catalogue.yaml holds 'products:', a list like {sku: FRIDGE-500L" in problem


def test_a_misspelt_section_of_the_catalogue_is_refused() -> None:
    assert catalogue_problems(CATALOGUE + "prodcts: []\n") == [
        "catalogue.yaml:6: unknown key 'prodcts' (did you mean 'products'?)"]


def test_the_rule_book_gives_the_catalogue_s_products() -> None:
    book = build_rulebook(files(ruleset("{fact: member.tier, is: member}")), "1")
    products = book.catalogue.products
    assert [p.sku for p in products] == ["FRIDGE-500L", "FRIDGE-300L", "KETTLE-1", "MUG-1"]
    assert products[2] == Product("KETTLE-1", "Kettle", "small-kitchen", Decimal("199.5"), 12)
    assert products[3].warranty_months is None
    assert book.catalogue.categories == ("fridge", "small-kitchen", "homeware")
    without = build_rulebook(files(ruleset("{fact: member.tier, is: member}"), None), "1")
    assert without.catalogue.products == ()


# ---- values the catalogue knows ---------------------------------------------------------------


def test_a_product_code_or_category_the_catalogue_does_not_sell_is_refused() -> None:
    (problem,) = problems(ruleset("any_line: {fact: line.sku, is: FRIDGE-50L}", on="purchase"))
    assert problem.startswith("probe.yaml:7: rule 'probe': 'line.sku' can never be "
                              "'FRIDGE-50L': the products (catalogue.yaml) are FRIDGE-500L")
    assert problem.endswith("(did you mean 'FRIDGE-500L'?)")
    assert problems(ruleset("any_line: {fact: line.category, in: [fridge, fridges]}",
                            on="purchase")) == refused(
        "'line.category' can never be 'fridges': the categories (catalogue.yaml) are fridge, "
        "small-kitchen, homeware (did you mean 'fridge'?)")
    assert problems(ruleset("{fact: stats.categories_bought, contains: toys}")) == refused(
        "'stats.categories_bought' can never hold 'toys': the categories (catalogue.yaml) are "
        "fridge, small-kitchen, homeware")


def test_an_award_on_lines_naming_an_unknown_product_is_refused() -> None:
    text = ("ruleset: probe\non: [purchase]\nrules:\n  - id: probe\n    description: a probe\n"
            "    then:\n      - award_points:\n          per_currency_unit: 2\n"
            "          on_lines: {fact: line.sku, is: TOASTER-1}\n")
    (problem,) = problems(text)
    assert problem.startswith("probe.yaml:9: rule 'probe': 'line.sku' can never be 'TOASTER-1'")


def test_a_prefix_is_refused_only_when_no_product_code_starts_so() -> None:
    assert problems(ruleset("any_line: {fact: line.sku, starts_with: fridge-}",
                            on="purchase")) == []
    (problem,) = problems(ruleset("any_line: {fact: line.sku, starts_with: FREEZER-}",
                                  on="purchase"))
    assert "'line.sku' never starts with 'FREEZER-': the products (catalogue.yaml) are" in problem


def test_products_held_are_codes_and_categories_of_the_catalogue() -> None:
    assert problems(ruleset("{fact: products.owned, contains: mug-1}",
                            "{fact: products.owned, contains: Fridge}")) == []
    (problem,) = problems(ruleset("{fact: products.owned, contains: fridg}"))
    assert "'products.owned' can never hold 'fridg'" in problem
    assert "(did you mean 'fridge'?)" in problem


def test_only_products_with_a_warranty_can_be_under_warranty() -> None:
    assert problems(ruleset("{fact: products.in_warranty, contains: fridge}",
                            "{fact: products.in_warranty, contains: KETTLE-1}")) == []
    assert problems(ruleset("{fact: products.in_warranty, contains: homeware}")) == refused(
        "'products.in_warranty' can never hold 'homeware': catalogue.yaml gives it no warranty "
        "(warranty_months)")
    assert problems(ruleset("{fact: products.in_warranty, contains: fridge}"),
                    None) == refused(
        "'products.in_warranty' is always empty without catalogue.yaml: list the products "
        "sold there, with their warranty_months")
    no_warranty = "products:\n  - {sku: MUG-1, category: homeware}\n"
    assert problems(ruleset("{fact: products.in_warranty, contains: homeware}"),
                    no_warranty) == refused(
        "'products.in_warranty' is always empty: no product of catalogue.yaml has a warranty "
        "(warranty_months)")


def test_without_a_catalogue_any_product_may_be_named() -> None:
    assert problems(ruleset("any_line: {fact: line.sku, is: ANYTHING-1}",
                            "{fact: products.owned, contains: whatever}", on="purchase"),
                    None) == []


# ---- what the engine reads, and what a rule book needs ---------------------------------------


SERVICE_RULES = """ruleset: service
on: [service]
rules:
  - id: third-visit
    description: third visit in a year
    when:
      - {fact: events.service.count_365d, at_least: 2}
    then: [{award_points: {points: 100}}]
  - id: fridge-care
    description: a fridge under warranty
    when:
      - {fact: products.in_warranty, contains: fridge}
    then: [{award_points: {points: 50}}]
"""
COMPLAINT_RULES = """ruleset: complaints
on: [complaint]
rules:
  - id: first-complaint
    description: never complained before
    when:
      - none: [{fact: events.complaint.days_since_last, exists: true}]
    then: [{award_points: {points: 10}}]
"""
PURCHASE_RULES = """ruleset: earning
on: [purchase]
rules:
  - id: base-earn
    description: a point a yuan
    then: [{award_points: {per_currency_unit: 1}}]
"""


def fired(kind: str, at: datetime = datetime(2026, 5, 2, 15, tzinfo=UTC),
          **stats: object) -> list[str]:
    book = build_rulebook({**files(SERVICE_RULES), "complaints.yaml": COMPLAINT_RULES,
                           "earning.yaml": PURCHASE_RULES}, "1")
    return [d.rule_id for d in book.evaluate(snapshot(kind, when=at, stats=stats))]


def test_a_member_without_recorded_history_has_no_events_and_holds_nothing() -> None:
    assert fired("service") == []
    assert fired("complaint") == ["first-complaint"]
    visits = {"service": EventHistory(1, 1, 2, 5, 12)}
    assert fired("service", events=visits) == ["third-visit"]
    complained = {"complaint": EventHistory(0, 0, 0, 1, 400)}
    assert fired("complaint", events=complained) == []


@pytest.mark.parametrize(("bought", "in_warranty"), [
    (datetime(2024, 5, 2, 10, tzinfo=UTC), False),    # the same date two years on: ended
    (datetime(2024, 5, 3, 10, tzinfo=UTC), True),     # its last day
    (datetime(2024, 5, 2, 20, tzinfo=UTC), True),     # 3 May in Shanghai, where it happened
])
def test_a_warranty_runs_to_the_day_before_the_same_date_its_months_later(
        bought: datetime, in_warranty: bool) -> None:
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 5, 2, 9, tzinfo=shanghai)
    held = (Holding("FRIDGE-500L", "fridge", bought, 1),)
    assert (fired("service", at, products=held) == ["fridge-care"]) is in_warranty


def test_a_product_wholly_returned_is_not_held() -> None:
    held = (Holding("fridge-500l", "FRIDGE", datetime(2026, 1, 1, tzinfo=UTC), 0),)
    assert fired("service", products=held) == []
    held = (Holding("fridge-500l", "FRIDGE", datetime(2026, 1, 1, tzinfo=UTC), 1),)
    assert fired("service", products=held) == ["fridge-care"]


def test_a_rule_book_needs_only_the_history_its_rules_for_each_event_test() -> None:
    book = build_rulebook({**files(SERVICE_RULES), "complaints.yaml": COMPLAINT_RULES,
                           "earning.yaml": PURCHASE_RULES}, "1")
    assert book.history_needs("service") == HistoryNeeds(frozenset({"service"}), products=True)
    assert book.history_needs("complaint") == HistoryNeeds(frozenset({"complaint"}))
    assert not book.history_needs("purchase")
    assert not book.history_needs("survey")
    assert not book.history_needs("birthday")


def test_months_later_end_on_the_last_day_of_a_shorter_month() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
