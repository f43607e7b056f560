"""Win-back that proves itself: a rule with a holdout sets a stable tenth of the members it
decides for aside, records both groups, and the win-back report shows what the offer brought
against the members who got none, with its uncertainty."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from loyalty.domain.experiments import in_control
from loyalty.engine import read_rule_dir
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.reports import winback
from loyalty.services.rules import explain_stored
from loyalty.services.sweep import run_sweep
from loyalty.services.sweep.lifecycle import LifecyclePhase
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, purchase, use_rules

MUG = ("MUG", "homeware", 1, "100.00")
RULE = "winback-lapsed"
IDS = [f"M-H{i:03d}" for i in range(200)]
Z = 1.959963984540054
Auth = Callable[[str], dict[str, str]]


def at(ctx: ServiceContext, when: datetime) -> None:
    ctx.clock = lambda: when


@pytest.fixture
def lapsed(ctx: ServiceContext) -> dict[str, list[str]]:
    """200 members whose last purchase was 130 days before T0, and the sweep of T0 that finds
    them lapsed; their groups, as the rule draws them."""
    at(ctx, T0)
    for member_id in IDS:
        enrol(ctx, member_id)
        purchase(ctx, f"S-{member_id}", [MUG], member_id=member_id,
                 at=T0 - timedelta(days=130))
    report = run_sweep(ctx, T0, phases=[LifecyclePhase()])
    assert report["phases"]["lifecycle"]["events"] == 200
    control = [m for m in IDS if in_control(RULE, m, 10)]
    return {"control": control, "offer": [m for m in IDS if m not in control]}


def rows(ctx: ServiceContext, table: Any, *columns: Any, **where: Any) -> list[tuple[Any, ...]]:
    with ctx.uow(read_only=True) as uow:
        query = select(*columns)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return [tuple(row) for row in uow.connection.execute(query)]


def count(ctx: ServiceContext, table: Any) -> int:
    with ctx.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_the_sweep_records_both_groups_and_only_the_offer_group_gets_the_offer(
        ctx: ServiceContext, lapsed: dict[str, list[str]]) -> None:
    control, offer = lapsed["control"], lapsed["offer"]
    assert 5 <= len(control) <= 40  # 10% of 200, give or take chance
    x = t.offer_experiments.c
    recorded = rows(ctx, t.offer_experiments, x.member_id, x.grp, x.percent, x.within_days,
                    x.campaign, x.source_type, x.decided_at, x.window_until)
    assert sorted((r[0], r[1]) for r in recorded) == sorted(
        [(m, "control") for m in control] + [(m, "offer") for m in offer])
    assert {r[2:6] for r in recorded} == {(10, 60, "winback-2026", "event")}
    assert {(r[6], r[7]) for r in recorded} == {(T0, T0 + timedelta(days=60))}
    o = t.offers.c
    offered = rows(ctx, t.offers, o.member_id, offer_code="WINBACK-500")
    assert sorted(m for (m,) in offered) == offer
    m = t.members.c
    tags = dict(rows(ctx, t.members, m.member_id, m.tags))
    assert all("winback-offered" not in tags[member] for member in control)
    assert all("winback-offered" in tags[member] for member in offer)
    u = t.rule_usage.c  # the control group used the rule's yearly once too, for no points
    used = {r[0]: r[1:] for r in rows(ctx, t.rule_usage, u.member_id, u.times, u.points,
                                      rule_id=RULE)}
    assert set(used) == set(IDS) and set(used.values()) == {(1, 0)}


def test_a_control_members_decision_is_shown_as_set_aside(
        ctx: ServiceContext, lapsed: dict[str, list[str]]) -> None:
    member = lapsed["control"][0]
    e = t.events.c
    [(source_id,)] = rows(ctx, t.events, e.event_id, member_id=member, type="lifecycle_changed")
    explained = explain_stored(ctx, source_id)
    held = [d for d in explained["decisions"] if d["rule_id"] == RULE]
    assert held == [{
        "rule_id": RULE, "ruleset": "winback", "ruleset_version": held[0]["ruleset_version"],
        "effect": "hold_out", "held_out": True, "campaign": "winback-2026",
        "reason": "set aside: control group of winback-lapsed, 10%",
        "set_aside": ["issue_offer", "add_tag"]}]
    assert f"{RULE}: set aside: control group of winback-lapsed, 10%" in explained["lines"]
    assert not any("budget" in note or "limit" in note for note in explained["notes"])
    other = explain_stored(ctx, rows(ctx, t.events, e.event_id, member_id=lapsed["offer"][0],
                                     type="lifecycle_changed")[0][0])
    assert [d["effect"] for d in other["decisions"] if d["rule_id"] == RULE] == [
        "issue_offer", "add_tag"]


def test_a_backtest_counts_the_members_set_aside_and_writes_none(
        ctx: ServiceContext, lapsed: dict[str, list[str]]) -> None:
    before = count(ctx, t.offer_experiments)
    report = backtest(ctx, read_rule_dir(RULES_DIR), start=T0 - timedelta(days=1),
                      end=T0 + timedelta(days=1))
    assert report["totals"]["draft"]["held_out"] == len(lapsed["control"])
    assert report["totals"]["against"]["held_out"] == len(lapsed["control"])
    assert report["totals"]["draft"]["offers_issued"] == len(lapsed["offer"])
    assert report["replay_check"]["differences"] == 0
    assert count(ctx, t.offer_experiments) == before


def come_back(ctx: ServiceContext, lapsed: dict[str, list[str]]) -> dict[str, list[Decimal]]:
    """40 of the offer group buy a mug with their offer 10 days later, 5 of the control group
    a mug at full points, one more of the offer group only after the window: what each member
    of each group spent within the window."""
    offer, control = lapsed["offer"], lapsed["control"]
    at(ctx, T0 + timedelta(days=10))
    for member in offer[:40]:
        purchase(ctx, f"B-{member}", [MUG], member_id=member, at=T0 + timedelta(days=10),
                 offer_codes=("WINBACK-500",))
    for member in control[:5]:
        purchase(ctx, f"B-{member}", [MUG], member_id=member, at=T0 + timedelta(days=10))
    at(ctx, T0 + timedelta(days=70))
    purchase(ctx, f"L-{offer[-1]}", [MUG], member_id=offer[-1], at=T0 + timedelta(days=70))
    spent = {m: Decimal("100.00") for m in [*offer[:40], *control[:5]]}
    return {group: [spent.get(m, Decimal(0)) for m in members]
            for group, members in lapsed.items()}


def by_hand(offer: list[Decimal], control: list[Decimal]) -> dict[str, Any]:
    """The uplift computed from each member's spend with the textbook formulas."""
    p1 = sum(1 for s in offer if s > 0) / len(offer)
    p0 = sum(1 for s in control if s > 0) / len(control)
    rate_se = math.sqrt(p1 * (1 - p1) / len(offer) + p0 * (1 - p0) / len(control))
    a, b = [float(s) for s in offer], [float(s) for s in control]
    diff = statistics.mean(a) - statistics.mean(b)
    welch = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    cents = Decimal("0.01")
    return {
        "return_rate": round(p1 - p0, 4),
        "return_rate_low": round(p1 - p0 - Z * rate_se, 4),
        "return_rate_high": round(p1 - p0 + Z * rate_se, 4),
        "spend_per_member": str(Decimal(str(diff)).quantize(cents)),
        "spend_per_member_low": str(Decimal(str(diff - Z * welch)).quantize(cents)),
        "spend_per_member_high": str(Decimal(str(diff + Z * welch)).quantize(cents)),
        "confidence": 0.95,
    }


def test_the_report_shows_the_uplift_of_the_purchases_made_afterwards(
        ctx: ServiceContext, lapsed: dict[str, list[str]], client: FlaskClient,
        auth: Auth) -> None:
    spent = come_back(ctx, lapsed)
    n1, n0 = len(lapsed["offer"]), len(lapsed["control"])
    at(ctx, T0 + timedelta(days=80))
    report = winback(ctx, T0 + timedelta(days=61))
    [found] = report["experiments"]
    assert found["offer"] == {
        "members": n1, "returned": 40, "return_rate": round(40 / n1, 4), "spend": "4000.00",
        "spend_per_member": str((Decimal(4000) / n1).quantize(Decimal("0.01"))), "open": 0}
    assert found["control"] == {
        "members": n0, "returned": 5, "return_rate": round(5 / n0, 4), "spend": "500.00",
        "spend_per_member": str((Decimal(500) / n0).quantize(Decimal("0.01"))), "open": 0}
    assert found["uplift"] == by_hand(spent["offer"], spent["control"])
    assert (found["rule_id"], found["campaign"], found["percent"], found["within_days"]) == (
        RULE, "winback-2026", 10, 60)
    assert (found["offers_used"], found["cost_points"], found["cost"]) == (40, 20000, "200.00")
    answer = client.get(f"/api/v1/reports/winback?as_of={(T0 + timedelta(days=61)).isoformat()}",
                        headers=auth("marketing"))
    assert answer.status_code == 200
    assert answer.get_json()["experiments"] == [found]
    assert answer.get_json()["currency"] == "CNY"


def test_decisions_whose_window_is_still_open_are_not_counted_yet(
        ctx: ServiceContext, lapsed: dict[str, list[str]]) -> None:
    come_back(ctx, lapsed)
    [found] = winback(ctx, T0 + timedelta(days=30))["experiments"]
    assert (found["offer"]["members"], found["offer"]["open"]) == (0, len(lapsed["offer"]))
    assert (found["control"]["members"], found["control"]["open"]) == (0, len(lapsed["control"]))
    assert set(found["uplift"].values()) == {None, 0.95}
    assert (found["offers_used"], found["cost_points"]) == (0, 0)
    assert winback(ctx, T0 - timedelta(days=1))["experiments"] == []


def test_a_bad_as_of_is_refused(client: FlaskClient, auth: Auth) -> None:
    answer = client.get("/api/v1/reports/winback?as_of=yesterday", headers=auth("marketing"))
    assert answer.status_code == 422
    assert "as_of" in str(answer.get_json())


THANKS = """
ruleset: thanks
description: A thank-you with a control group.
on: [purchase]
rules:
  - id: thanks
    description: 50 points to thank you
    priority: 40
    campaign: thanks-test
    then:
      - award_points: {points: 50}
    limit: {times: 1, per: ever, budget_points: 1000}
    holdout: {percent: 50, within_days: 30}
"""


def test_at_the_till_a_control_member_gets_nothing_from_the_rule_and_the_receipt_says_so(
        ctx: ServiceContext) -> None:
    use_rules(ctx, thanks=THANKS)
    at(ctx, T0)
    candidates = [f"M-T{i:02d}" for i in range(20)]
    held = next(m for m in candidates if in_control("thanks", m, 50))
    given = next(m for m in candidates if not in_control("thanks", m, 50))
    for member in (held, given):
        enrol(ctx, member)
    receipt = purchase(ctx, "S-HELD", [MUG], member_id=held).body
    views = [d for d in receipt["decisions"] if d["rule_id"] == "thanks"]
    assert [(v["effect"], v["reason"], v.get("points")) for v in views] == [
        ("hold_out", "set aside: control group of thanks, 50%", None)]
    assert receipt["points"]["earned"] == sum(d.get("points", 0) for d in receipt["decisions"])
    receipt = purchase(ctx, "S-GIVEN", [MUG], member_id=given).body
    assert [(d["effect"], d["points"]) for d in receipt["decisions"]
            if d["rule_id"] == "thanks"] == [("award_points", 50)]
    again = purchase(ctx, "S-HELD-2", [MUG], member_id=held).body  # the once is used
    assert "thanks" not in [d["rule_id"] for d in again["decisions"]]
    x = t.offer_experiments.c
    assert sorted(rows(ctx, t.offer_experiments, x.member_id, x.grp, x.source_id,
                       rule_id="thanks")) == sorted([(held, "control", "S-HELD"),
                                                    (given, "offer", "S-GIVEN")])
    b = t.rule_budgets.c
    assert rows(ctx, t.rule_budgets, b.points_used) == [(50,)]  # only what was given
    e = t.ledger_entries.c
    assert rows(ctx, t.ledger_entries, e.points, rule_id="thanks") == [(50,)]
