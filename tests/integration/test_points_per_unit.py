"""Points per unit and multipliers limited to lines through the till, returns, explain and the
backtest, on a real database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from loyalty.engine import read_rule_dir
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.explain import explain_recorded
from loyalty.services.rules import activate
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, give_back, points, purchase

FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
FILTERS = ("FILTER-1", "filters", 2, "49.50")
SHAMPOO = ("SHAMPOO-1", "haircare", 1, "100.00")
SPA = ("SPA-60", "spa", 1, "300.00")
BASE_EARN = """
ruleset: earning
description: Base points
on: [purchase]
rules:
  - id: base-earn
    description: 1 point for every 1 CNY spent
    priority: 10
    then:
      - award_points: {per_currency_unit: 1}
"""
FILTER_POINTS = """
ruleset: filters
description: Points for every filter
on: [purchase]
rules:
  - id: filter-points
    description: 50 points for every filter
    priority: 30
    then:
      - award_points:
          per_unit: PER_UNIT
          on_lines: {fact: line.category, is: filters}
"""
SPA_DOUBLE = """
ruleset: spa
description: Double points on spa treatments
on: [purchase]
rules:
  - id: spa-double
    description: Double base points on spa treatments
    priority: 20
    then:
      - multiply_points:
          by: 2
          of: [base-earn]
          on_lines: {fact: line.category, is: spa}
"""


def filter_points(per_unit: int = 50) -> str:
    return FILTER_POINTS.replace("PER_UNIT", str(per_unit))


def programme(ctx: ServiceContext, **rulesets: str) -> dict[str, str]:
    """The bundled programme and rewards with only these rulesets (name: text) in force."""
    bundled = read_rule_dir(RULES_DIR)
    files = {"program.yaml": bundled["program.yaml"], "rewards.yaml": bundled["rewards.yaml"],
             **{f"{name}.yaml": text for name, text in rulesets.items()}}
    activate(ctx, files, activated_by="test", reason="test")
    ctx.rules.invalidate()
    return files


@pytest.fixture
def member(ctx: ServiceContext) -> str:
    ctx.clock = lambda: T0
    return str(enrol(ctx)["member_id"])


def awards(body: dict[str, object]) -> dict[str, int]:
    decisions = body["decisions"]
    assert isinstance(decisions, list)
    return {d["rule_id"]: d["points"] for d in decisions if "points" in d}


def test_fifty_points_a_filter_give_a_hundred_for_two_and_each_returned_filter_fifty_back(
        ctx: ServiceContext, member: str) -> None:
    programme(ctx, filters=filter_points())
    bought = purchase(ctx, "S-1", [FILTERS, SHAMPOO]).body
    assert bought["points"]["earned"] == 100
    assert awards(bought) == {"filter-points": 100}
    assert give_back(ctx, "R-1", "S-1", [("FILTER-1", 1)]).body["points"]["clawed_back"] == 50
    assert give_back(ctx, "R-2", "S-1", [("SHAMPOO-1", 1)]).body["points"]["clawed_back"] == 0
    assert give_back(ctx, "R-3", "S-1", [("FILTER-1", 1)]).body["points"]["clawed_back"] == 50
    assert points(ctx)["pending"] == 0
    assert verify_ledger(ctx) == []


def test_each_line_records_the_points_its_units_earned(ctx: ServiceContext, member: str) -> None:
    programme(ctx, filters=filter_points())
    purchase(ctx, "S-1", [SHAMPOO, FILTERS])
    x = t.transaction_lines.c
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(x.sku, x.unit_points).where(x.transaction_id == "S-1")
                            .order_by(x.line_no)).all()
    assert [tuple(row) for row in rows] == [("SHAMPOO-1", 0), ("FILTER-1", 100)]


def test_a_returned_filter_takes_back_its_fifty_points_and_its_share_of_the_base_points(
        ctx: ServiceContext, member: str) -> None:
    programme(ctx, earning=BASE_EARN, filters=filter_points())
    bought = purchase(ctx, "S-1", [FRIDGE, FILTERS]).body
    assert awards(bought) == {"base-earn": 4098, "filter-points": 100}
    one = give_back(ctx, "R-1", "S-1", [("FILTER-1", 1)]).body
    assert one["points"]["clawed_back"] == 50 + 49  # 49.50 of 4098.00 of the base points
    rest = give_back(ctx, "R-2", "S-1", [("FRIDGE-300", 1), ("FILTER-1", 1)]).body
    assert rest["points"]["clawed_back"] == 4198 - 99
    assert verify_ledger(ctx) == []


def test_a_line_multiplier_doubles_only_the_spa_lines(ctx: ServiceContext, member: str) -> None:
    programme(ctx, earning=BASE_EARN, spa=SPA_DOUBLE)
    bought = purchase(ctx, "S-1", [SPA, SHAMPOO]).body
    assert awards(bought) == {"base-earn": 400, "spa-double": 300}
    assert bought["points"]["earned"] == 700
    assert awards(purchase(ctx, "S-2", [SHAMPOO]).body) == {"base-earn": 100}
    # points multiplied on lines by a rate are taken back by value, as the rate's own points
    back = give_back(ctx, "R-1", "S-1", [("SPA-60", 1)]).body
    assert back["points"]["clawed_back"] == 700 * 300 // 400


def test_explain_and_the_backtest_show_the_points_per_unit_and_their_clawback(
        ctx: ServiceContext, member: str) -> None:
    files = programme(ctx, filters=filter_points())
    purchase(ctx, "S-1", [FILTERS, SHAMPOO])
    give_back(ctx, "R-1", "S-1", [("FILTER-1", 1)])

    bought, _ = explain_recorded(ctx, "S-1")
    assert [(d["rule_id"], d["points"]) for d in bought["decisions"]] == [("filter-points", 100)]
    assert any("award 100 points (50 points per unit bought on matching lines)" in line
               for line in bought["lines"])
    returned, _ = explain_recorded(ctx, "R-1")
    assert [d["points"] for d in returned["decisions"]] == [-50]

    start, end = T0 - timedelta(days=1), T0 + timedelta(days=1)
    same = backtest(ctx, files, start=start, end=end)
    assert same["replay_check"]["differences"] == 0
    assert same["totals"]["against"]["points_issued"] == 100
    assert same["totals"]["against"]["points_clawed_back"] == 50
    more = backtest(ctx, {**files, "filters.yaml": filter_points(80)}, start=start, end=end)
    assert more["totals"]["draft"]["points_issued"] == 160
    assert more["totals"]["draft"]["points_clawed_back"] == 80
