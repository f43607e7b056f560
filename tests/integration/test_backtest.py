"""Backtests over a recorded history of thousands of transactions made through the till's own
path (4,000 in the default run, more than 10,000 in the long one, `pytest -m slow`): replaying
the rules in force reproduces the ledger, and a draft's extra cost is what an independent
computation from the recorded rows says."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty import create_app
from loyalty.domain.effects import floor_points
from loyalty.domain.errors import RulesInvalid, ValidationFailed
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.rules import get_version
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.history import HistoryFilter
from tests.conftest import RULES_DIR, emptied, on_postgres
from tests.integration.helpers import KITCHEN_DOUBLE
from tests.integration.history import History, generate, spring_budget

EARLY = datetime(2020, 1, 1, tzinfo=UTC)
WEEKEND_DOUBLE = """
ruleset: weekend
description: Double base points this weekend
on: [purchase]
rules:
  - id: weekend-double
    description: Double base points on the weekend of 5 December 2026
    priority: 20
    from: 2026-12-05
    until: 2026-12-06
    then:
      - multiply_points: {by: 2, of: [base-earn]}
"""


@pytest.fixture(scope="module", params=[
    pytest.param(4_000, id="4k"), pytest.param(10_000, id="10k", marks=pytest.mark.slow)])
def recorded(request: pytest.FixtureRequest, _template_db: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceContext, History]]:
    """One history per size for the module: generating it is the expensive part."""
    if on_postgres():
        url = emptied(_template_db)
    else:
        target = tmp_path_factory.mktemp("backtest") / "history.db"
        target.write_bytes(Path(_template_db).read_bytes())
        url = f"sqlite:///{target}"
    app = create_app({"database_url": url, "rules_dir": str(RULES_DIR),
                      "rules_refresh_seconds": 3600.0, "key_cache_seconds": 0.0})
    ctx: ServiceContext = app.extensions["loyalty"]
    history = generate(ctx, transactions_wanted=request.param)
    yield ctx, history
    ctx.engine.dispose()


def files_of(ctx: ServiceContext, version: int) -> dict[str, str]:
    files: dict[str, str] = get_version(ctx, version)["files"]
    return files


def scalar(ctx: ServiceContext, query: Any) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_the_history_holds_what_a_backtest_must_replay(
        recorded: tuple[ServiceContext, History]) -> None:
    ctx, history = recorded
    tx, o, u, b, h = (t.transactions.c, t.offers.c, t.rule_usage.c, t.rule_budgets.c,
                      t.tier_history.c)
    assert history.transactions >= history.wanted
    assert scalar(ctx, select(func.count()).select_from(t.transactions)) == history.transactions
    partial = select(func.count()).where(tx.type == "purchase", tx.returned_total > 0,
                                         tx.returned_total < tx.total)
    full = select(func.count()).where(tx.type == "purchase", tx.returned_total == tx.total,
                                      tx.total > 0)
    assert scalar(ctx, partial) > 50 and scalar(ctx, full) > 50
    assert history.redemptions > 20 and history.refused > 20
    assert scalar(ctx, select(func.count()).where(o.status == "used")) > 10
    assert scalar(ctx, select(func.count()).where(u.rule_id == "monthly-bonus",
                                                  u.times >= 2)) > 20
    assert scalar(ctx, select(b.points_used).where(b.rule_id == "campaign:spring")) > (
        spring_budget(history.wanted) - 200)
    assert scalar(ctx, select(func.count()).where(h.to_tier == "platinum")) > 3
    assert scalar(ctx, select(func.count()).where(h.rule_id == "tiers.requalification")) > 3
    assert history.sweeps >= 10 and history.second_version_at is not None
    assert verify_ledger(ctx) == []


def test_replaying_the_versions_in_force_reproduces_the_recorded_ledger(
        recorded: tuple[ServiceContext, History]) -> None:
    """Over the whole history (two versions, sweeps between), the side of the rules in force
    reproduces the recorded ledger occurrence by occurrence; the draft (the second version)
    differs only before it was activated."""
    ctx, history = recorded
    second = history.second_version_at
    assert second is not None
    report = backtest(ctx, files_of(ctx, 2), start=EARLY, end=history.end)
    occurrences = scalar(ctx, select(func.count()).select_from(t.history))
    assert report["replay_check"] == {"compared": occurrences, "differences": 0,
                                      "examples": []}
    assert report["against"]["label"] == "the versions in force (1, 2)"
    purchases = scalar(ctx, select(func.count()).where(t.transactions.c.type == "purchase"))
    assert report["occurrences"]["purchases"] == purchases
    recorded_points = scalar(ctx, select(func.sum(t.ledger_entries.c.points))
                             .where(t.ledger_entries.c.kind == "earn"))
    assert report["totals"]["against"]["points_issued"] == recorded_points
    assert report["differing_decisions"] > 0  # version 1's monthly bonus was 25, not 40
    # what differs is the monthly bonus before the second version, the double-points offers
    # used on those purchases (they double every award), and the claw-backs of their returns
    assert {r["rule_id"] for r in report["per_rule"] if r["difference"]} <= {
        "monthly-bonus", "winback-declining", "points.clawback"}
    assert next(r for r in report["per_rule"] if r["rule_id"] == "monthly-bonus")["difference"]


def test_the_version_in_force_over_its_own_period_changes_nothing(
        recorded: tuple[ServiceContext, History]) -> None:
    ctx, history = recorded
    assert history.second_version_at is not None
    report = backtest(ctx, files_of(ctx, 2), start=history.second_version_at, end=history.end)
    assert report["differing_decisions"] == 0
    assert report["points_difference"] == 0
    assert report["cost_difference"] == "0.00"
    assert report["replay_check"]["differences"] == 0
    assert report["samples"] == [] and report["members_most_affected"] == []
    assert report["tier_differences"] == {"count": 0, "members": []}


def independent_extra(ctx: ServiceContext, start: datetime) -> tuple[int, int]:
    """What doubling kitchen points adds from `start`, computed from the recorded rows alone:
    (points issued, points clawed back)."""
    tx, x, o, e, hs = (t.transactions.c, t.transaction_lines.c, t.offers.c,
                       t.ledger_entries.c, t.history.c)
    with ctx.engine.connect() as conn:
        kitchen: dict[str, Decimal] = defaultdict(Decimal)
        for tid, price, quantity in conn.execute(
                select(x.transaction_id, x.unit_price, x.quantity)
                .join(t.transactions, tx.transaction_id == x.transaction_id)
                .where(tx.type == "purchase", tx.occurred_at >= start, x.category == "kitchen")):
            kitchen[tid] += price * quantity
        multipliers = {row.used_transaction_id: row for row in conn.execute(
            select(o.used_transaction_id, o.value, o.rule_id)
            .where(o.status == "used", o.benefit == "points_multiplier"))}
        earned = {tid: points for tid, points in conn.execute(
            select(tx.transaction_id, tx.points_earned).where(tx.type == "purchase"))}
        issued = 0
        extra: dict[str, int] = {}
        for tid, amount in kitchen.items():
            more = floor_points(amount)
            offer = multipliers.get(tid)
            if offer is not None:  # the offer multiplies every award, the new one too
                base = conn.execute(select(func.coalesce(func.sum(e.points), 0)).where(
                    e.source_id == tid, e.kind == "earn", e.rule_id != offer.rule_id)).scalar_one()
                factor = offer.value - 1
                more += (floor_points(Decimal(base + more) * factor)
                         - floor_points(Decimal(base) * factor))
            extra[tid] = more
            issued += more
        clawed = 0
        totals = {tid: total for tid, total in conn.execute(
            select(tx.transaction_id, tx.total).where(tx.type == "purchase"))}
        returned: dict[str, Decimal] = defaultdict(Decimal)
        taken: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        returns = conn.execute(
            select(tx.original_transaction_id, tx.total, tx.occurred_at)
            .join(t.history, hs.source_id == tx.transaction_id)
            .where(tx.type == "return").order_by(hs.seq)).all()
        for original, value, occurred_at in returns:
            returned[original] += -value
            total = totals[original]
            for side, points in enumerate((earned[original],
                                           earned[original] + extra.get(original, 0))):
                target = points if total <= 0 else min(
                    points, floor_points(points * returned[original] / total))
                claw = max(0, target - taken[original][side])
                taken[original][side] += claw
                if occurred_at >= start:
                    clawed += claw if side else -claw
    return issued, clawed


def test_doubling_one_category_costs_what_an_independent_sum_says(
        recorded: tuple[ServiceContext, History]) -> None:
    ctx, history = recorded
    start = history.second_version_at
    assert start is not None
    draft = {**files_of(ctx, 2), "kitchen-double.yaml": KITCHEN_DOUBLE}
    report = backtest(ctx, draft, start=start, end=history.end)
    issued, clawed = independent_extra(ctx, start)
    totals = report["totals"]
    assert issued > 100_000
    assert totals["draft"]["points_issued"] - totals["against"]["points_issued"] == issued
    assert (totals["draft"]["points_clawed_back"]
            - totals["against"]["points_clawed_back"]) == clawed
    assert report["points_difference"] == issued - clawed
    assert report["cost_difference"] == str((Decimal("0.01") * (issued - clawed))
                                             .quantize(Decimal("0.01")))
    rule = next(r for r in report["per_rule"] if r["rule_id"] == "kitchen-double")
    assert rule["against_points"] == 0 and rule["draft_points"] > 0
    others = [r for r in report["per_rule"] if r["rule_id"] != "kitchen-double"
              and not r["rule_id"].startswith(("winback", "retention", "points."))]
    assert all(r["difference"] == 0 for r in others), others
    assert report["differing_decisions"] > 0
    sample = report["samples"][0]
    assert any(view["rule_id"] == "kitchen-double" for view in sample["draft"])
    assert any("kitchen-double" in line for line in sample["explanation"])
    assert report["members_most_affected"][0]["difference"] > 0
    assert report["replay_check"]["differences"] == 0


def test_a_weekend_campaign_priced_on_last_weekend_needs_its_window_ignored(
        recorded: tuple[ServiceContext, History]) -> None:
    ctx, history = recorded
    draft = {**files_of(ctx, 2), "weekend.yaml": WEEKEND_DOUBLE}
    weekend = history.end - timedelta(days=30)
    start, end = weekend, weekend + timedelta(days=2)
    as_dated = backtest(ctx, draft, start=start, end=end)
    assert as_dated["points_difference"] == 0  # its window is in December 2026
    ignoring = backtest(ctx, draft, start=start, end=end, ignore_windows=True)
    rule = next(r for r in ignoring["per_rule"] if r["rule_id"] == "weekend-double")
    base = next(r for r in ignoring["per_rule"] if r["rule_id"] == "base-earn")
    assert rule["draft_points"] > 0
    assert rule["draft_points"] <= base["draft_points"]
    assert ignoring["period"]["ignore_windows"] is True


def test_against_a_stored_version_and_by_shard(
        recorded: tuple[ServiceContext, History]) -> None:
    ctx, history = recorded
    start = history.end - timedelta(days=60)
    whole = backtest(ctx, files_of(ctx, 2), start=start, end=history.end, against=1)
    assert whole["against"]["label"] == "version 1"
    assert whole["replay_check"] is None
    assert whole["differing_decisions"] > 0  # version 1 limits the monthly bonus to 2 a month
    monthly = next(r for r in whole["per_rule"] if r["rule_id"] == "monthly-bonus")
    assert monthly["draft_points"] > monthly["against_points"]
    halves = [backtest(ctx, files_of(ctx, 2), start=start, end=history.end, against=1,
                       which=HistoryFilter(shard_index=k, shard_count=2)) for k in (1, 2)]
    assert sum(h["occurrences"]["members"] for h in halves) == whole["occurrences"]["members"]
    assert sum(h["occurrences"]["purchases"] for h in halves) == whole["occurrences"]["purchases"]
    # limits count per member, so a rule's points add up across shards (budgets and stock are
    # shared by all members: a shard counts them among its own members only)
    assert sum(next(r["draft_points"] for r in h["per_rule"] if r["rule_id"] == "monthly-bonus")
               for h in halves) == monthly["draft_points"]
    assert all("counted within this shard" in " ".join(h["notes"]) for h in halves)


def test_a_backtest_refuses_a_broken_draft_an_unknown_version_and_a_reversed_period(
        recorded: tuple[ServiceContext, History]) -> None:
    ctx, history = recorded
    broken = {**files_of(ctx, 2), "earning.yaml": "ruleset: earning\nrules: [{id: x}]\n"}
    with pytest.raises(RulesInvalid):
        backtest(ctx, broken, start=EARLY, end=history.end)
    with pytest.raises(ValidationFailed) as unknown:
        backtest(ctx, files_of(ctx, 2), start=EARLY, end=history.end, against=99)
    assert unknown.value.details == {"fields": {"against": ["There is no rules version 99."]}}
    with pytest.raises(ValidationFailed):
        backtest(ctx, files_of(ctx, 2), start=history.end, end=EARLY)
