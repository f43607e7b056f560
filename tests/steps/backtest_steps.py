"""Steps for backtests: purchases recorded at the till on a real database, then a draft
replayed against them through the product's backtest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select

from loyalty import engine as rule_engine
from loyalty.domain.errors import RulesInvalid
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.rules import get_version, list_versions
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import CHINA, enrol, purchase

ITEMS = {"television": ("TV-55", "electronics"), "kettle": ("KETTLE-1", "kitchen"),
         "phone": ("PHONE-X", "electronics")}
ELECTRONICS_DOUBLE = """
ruleset: electronics-weekend
description: Double points on electronics
on: [purchase]
rules:
  - id: electronics-double
    description: 1 more point per 1 CNY on electronics
    priority: 30
    then:
      - award_points:
          per_currency_unit: 1
          on_lines: {fact: line.category, is: electronics}
"""
WEEKEND = """
ruleset: weekend
description: Double base points on the first weekend of December
on: [purchase]
rules:
  - id: december-weekend
    description: Double base points on 5 and 6 December
    priority: 20
    from: 2026-12-05
    until: 2026-12-06
    then:
      - multiply_points: {by: 2, of: [base-earn]}
"""
NO_THEN = """
ruleset: earning
description: Points for purchases.
on: [purchase]
rules:
  - id: base-earn
    description: 1 point for every 1 CNY spent
    priority: 10
"""


@dataclass
class Desk:
    """Marketing's desk: the recorded purchases, the draft tried and its report."""

    ctx: ServiceContext
    members: dict[str, str] = field(default_factory=dict)
    purchases: int = 0
    draft: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    refused: RulesInvalid | None = None
    balances_before: list[Any] = field(default_factory=list)

    def files(self, **extra: str) -> dict[str, str]:
        return {**rule_engine.read_rule_dir(RULES_DIR), **extra}

    def run(self, files: dict[str, str], first: str, last: str,
            ignore_windows: bool = False) -> None:
        self.draft = files
        self.balances_before = self.balances()
        start = datetime.combine(date.fromisoformat(first), time.min, CHINA)
        end = datetime.combine(date.fromisoformat(last), time.max, CHINA)
        try:
            self.report = backtest(self.ctx, files, start=start, end=end,
                                   ignore_windows=ignore_windows)
        except RulesInvalid as error:
            self.refused = error

    def balances(self) -> list[Any]:
        m = t.members.c
        with self.ctx.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(
                select(m.member_id, m.points_available, m.points_pending, m.tier)
                .order_by(m.member_id))]


@pytest.fixture
def desk(ctx: ServiceContext) -> Desk:
    return Desk(ctx)


@given(parsers.parse("the programme prices a point at {value} CNY"))
def point_value(desk: Desk, value: str) -> None:
    program = rule_engine.read_rule_dir(RULES_DIR)["program.yaml"]
    assert f"point_value: {value}" in program


@given(parsers.parse("{name} bought a {item} for {price} CNY on {weekday} {day}"))
def bought(desk: Desk, name: str, item: str, price: str, weekday: str, day: str) -> None:
    at = datetime.combine(date.fromisoformat(day), time(15), CHINA)
    assert at.strftime("%A") == weekday
    if name not in desk.members:
        desk.members[name] = f"M-{name.upper()}"
        enrol(desk.ctx, desk.members[name])
    sku, category = ITEMS[item]
    desk.purchases += 1
    desk.ctx.clock = lambda: at + timedelta(minutes=1)
    purchase(desk.ctx, f"T-{desk.purchases}", [(sku, category, 1, price)],
             member_id=desk.members[name], at=at)


@when(parsers.parse("marketing backtests a draft that doubles points on electronics over "
                    "{first} to {last}"))
def doubles_electronics(desk: Desk, first: str, last: str) -> None:
    desk.run(desk.files(**{"electronics.yaml": ELECTRONICS_DOUBLE}), first, last)


@when(parsers.parse("marketing backtests the rules in force over {first} to {last}"))
def rules_in_force(desk: Desk, first: str, last: str) -> None:
    desk.run(dict(get_version(desk.ctx, 1)["files"]), first, last)


@when(parsers.parse("marketing backtests a draft with double points on 2026-12-05 and "
                    "2026-12-06 over {first} to {last}"))
def weekend_draft(desk: Desk, first: str, last: str) -> None:
    desk.run(desk.files(**{"weekend.yaml": WEEKEND}), first, last)


@when("marketing backtests the same draft over the same weekend, ignoring the rules' dates")
def ignoring_dates(desk: Desk) -> None:
    period = desk.report["period"]
    desk.run(desk.draft, period["from"][:10], period["to"][:10], ignore_windows=True)


@when('marketing backtests a draft whose earning rule has no "then"')
def broken_draft(desk: Desk) -> None:
    desk.run(desk.files(**{"earning.yaml": NO_THEN}), "2026-11-21", "2026-11-22")


@then(parsers.parse("the draft would have given {points:d} more points"))
def more_points(desk: Desk, points: int) -> None:
    totals = desk.report["totals"]
    assert totals["draft"]["points_issued"] - totals["against"]["points_issued"] == points
    assert desk.report["points_difference"] == points


@then(parsers.parse("it would have cost {cost} CNY more"))
def more_cost(desk: Desk, cost: str) -> None:
    assert desk.report["cost_difference"] == cost
    assert Decimal(desk.report["totals"]["draft"]["cost"]) - Decimal(
        desk.report["totals"]["against"]["cost"]) == Decimal(cost)


@then(parsers.parse("{count:d} of the {total:d} purchases would have been decided differently"))
def decided_differently(desk: Desk, count: int, total: int) -> None:
    assert desk.report["differing_decisions"] == count
    assert desk.report["occurrences"]["purchases"] == total


@then("the example shown is Ann's television, with the draft's extra points explained")
def example(desk: Desk) -> None:
    [sample] = desk.report["samples"]
    assert (sample["member_id"], sample["kind"]) == ("M-ANN", "purchase")
    extra = [view for view in sample["draft"] if view["rule_id"] == "electronics-double"]
    assert extra == [{"rule_id": "electronics-double", "effect": "award_points",
                      "points": 3999, "reason": extra[0]["reason"]}]
    assert "electronics-double" not in {view["rule_id"] for view in sample["against"]}
    assert any(line.startswith("draft: electronics-double (3999 points)")
               for line in sample["explanation"])


@then("nothing was written: the same rules are in force and every balance is unchanged")
def nothing_written(desk: Desk) -> None:
    assert [v["version"] for v in list_versions(desk.ctx)] == [1]
    assert desk.balances() == desk.balances_before
    with desk.ctx.engine.connect() as conn:
        drafts = conn.execute(select(func.count()).select_from(t.ledger_entries)
                              .where(t.ledger_entries.c.rule_id == "electronics-double"))
        assert drafts.scalar_one() == 0


@then(parsers.parse("no decision differs and the cost difference is {cost} CNY"))
def no_difference(desk: Desk, cost: str) -> None:
    assert desk.report["differing_decisions"] == 0
    assert desk.report["cost_difference"] == cost


@then(parsers.parse("replaying the rules in force reproduces all {count:d} recorded purchases"))
def reproduces(desk: Desk, count: int) -> None:
    check = desk.report["replay_check"]
    assert check["differences"] == 0
    assert desk.report["occurrences"]["purchases"] == count
    assert check["compared"] == count


@then("the backtest is refused, naming the file and line of the mistake")
def refused(desk: Desk) -> None:
    assert desk.refused is not None and desk.report == {}
    problems = desk.refused.details["problems"]
    assert any(problem.startswith("earning.yaml:6:") for problem in problems), problems
