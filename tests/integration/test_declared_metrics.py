"""Metrics a programme declares in program.yaml (nights, stays, tonnes...): the facts rules test
at the till, the tier a guest or shipper reaches at once, the sweep's review and VIP by them,
returns taking units back, and replays (backtests, explain) counting exactly as the till does.

The programmes are the small hotel and freight folders in tests/rule_folders."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from loyalty.domain.commands import EnrolMember, RecordEvent
from loyalty.domain.decisions import RuleBook
from loyalty.engine import read_rule_dir
from loyalty.services import events, members
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.replay import MemoryState, replay
from loyalty.services.rules import activate
from loyalty.services.sweep import run_sweep
from loyalty.services.sweep.tiers import TierPhase, metric_values, projected_values
from loyalty.services.sweep.vip import VipPhase
from loyalty.store import tables as t
from loyalty.store.history import HistoryReader
from tests.integration.helpers import fingerprint, give_back, purchase

FOLDERS = Path(__file__).resolve().parents[1] / "rule_folders"
JOINED = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
EARLY = datetime(2020, 1, 1, tzinfo=UTC)


def use_folder(ctx: ServiceContext, name: str) -> RuleBook:
    activate(ctx, read_rule_dir(FOLDERS / name), activated_by="test", reason="test")
    ctx.rules.invalidate()
    book: RuleBook = ctx.rules.current()
    return book


def guest(ctx: ServiceContext, member_id: str) -> None:
    members.enrol(ctx, EnrolMember(member_id=member_id, name=member_id, enrolled_at=JOINED))


def stay(ctx: ServiceContext, tx_id: str, member_id: str, nights: int,
         at: datetime) -> dict[str, Any]:
    """A stay: room nights at 800 and one breakfast."""
    lines = [("ROOM-KING", "room-night", nights, "800"), ("BREAKFAST", "dining", 1, "100")]
    body: dict[str, Any] = purchase(ctx, tx_id, lines, member_id=member_id, at=at).body
    return body


def event(ctx: ServiceContext, event_id: str, member_id: str, kind: str, at: datetime,
          **attributes: Any) -> dict[str, Any]:
    body: dict[str, Any] = events.record_event(ctx, RecordEvent(
        event_id=event_id, type=kind, member_id=member_id, occurred_at=at,
        fingerprint=fingerprint(event=event_id, attributes=attributes),
        attributes=attributes)).body
    return body


def figures(ctx: ServiceContext, member_id: str, at: datetime) -> dict[str, Decimal]:
    book = ctx.rules.current()
    with ctx.uow(read_only=True) as uow:
        return uow.transactions.metric_figures(member_id, at, book.policy.metrics)


def member_row(ctx: ServiceContext, member_id: str) -> Any:
    with ctx.uow(read_only=True) as uow:
        return uow.connection.execute(
            select(t.members).where(t.members.c.member_id == member_id)).one()


def tier_reasons(ctx: ServiceContext, member_id: str) -> list[tuple[str, str]]:
    h = t.tier_history.c
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(select(h.to_tier, h.reason).where(
            h.member_id == member_id).order_by(h.id)).all()
    return [(row.to_tier, row.reason) for row in rows]


def fired(body: dict[str, Any]) -> list[str]:
    return [d["rule_id"] for d in body["decisions"]]


def test_thirty_nights_in_a_year_make_a_guest_gold_at_the_till(ctx: ServiceContext) -> None:
    use_folder(ctx, "hotel")
    guest(ctx, "G-1")
    start = datetime(2026, 3, 1, 15, tzinfo=UTC)
    first = stay(ctx, "S-1", "G-1", 10, start)
    assert first["tier"] == {"before": "member", "after": "silver", "changed": True}
    assert "frequent-guest" not in fired(first)
    second = stay(ctx, "S-2", "G-1", 12, start + timedelta(days=40))
    assert "frequent-guest" not in fired(second)  # 10 nights before this stay: under 20
    assert second["tier"]["after"] == "silver"
    third = stay(ctx, "S-3", "G-1", 8, start + timedelta(days=80))
    assert "frequent-guest" in fired(third)  # 22 nights before it
    assert "loyal-guest" not in fired(third)  # two stays before it, not three
    assert third["tier"] == {"before": "silver", "after": "gold", "changed": True}
    assert tier_reasons(ctx, "G-1") == [
        ("silver", "qualified for silver: nights_365d reached 10"),
        ("gold", "qualified for gold: nights_365d reached 30"),
    ]
    assert "loyal-guest" in fired(stay(ctx, "S-4", "G-1", 1, start + timedelta(days=90)))
    later = start + timedelta(days=100)
    assert figures(ctx, "G-1", later) == {
        "nights_30d": 9, "nights_90d": 21, "nights_365d": 31, "nights_lifetime": 31,
        "stays_30d": 2, "stays_90d": 3, "stays_365d": 4, "stays_lifetime": 4,
        "banquet_guests_30d": 0, "banquet_guests_90d": 0, "banquet_guests_365d": 0,
        "banquet_guests_lifetime": 0, "banquet_fees_30d": 0, "banquet_fees_90d": 0,
        "banquet_fees_365d": 0, "banquet_fees_lifetime": 0,
    }


def test_fifteen_short_stays_make_a_guest_gold_by_the_other_metric(ctx: ServiceContext) -> None:
    use_folder(ctx, "hotel")
    guest(ctx, "G-2")
    start = datetime(2026, 1, 5, 15, tzinfo=UTC)
    tiers = [stay(ctx, f"S-{n}", "G-2", 1, start + timedelta(days=7 * n))["tier"]["after"]
             for n in range(15)]
    assert tiers == ["member"] * 9 + ["silver"] * 5 + ["gold"]
    assert tier_reasons(ctx, "G-2")[-1] == ("gold", "qualified for gold: stays_365d reached 15")


def test_a_return_of_nights_lowers_the_figures_and_a_full_return_the_stays(
        ctx: ServiceContext) -> None:
    use_folder(ctx, "hotel")
    guest(ctx, "G-3")
    at = datetime(2026, 6, 1, 15, tzinfo=UTC)
    stay(ctx, "S-1", "G-3", 5, at)
    stay(ctx, "S-2", "G-3", 2, at + timedelta(days=1))
    give_back(ctx, "R-1", "S-1", [("ROOM-KING", 2)], member_id="G-3", at=at + timedelta(days=2))
    after_one = figures(ctx, "G-3", at + timedelta(days=3))
    assert (after_one["nights_30d"], after_one["stays_30d"]) == (5, 2)
    give_back(ctx, "R-2", "S-2", [("ROOM-KING", 2)], member_id="G-3", at=at + timedelta(days=4))
    after_two = figures(ctx, "G-3", at + timedelta(days=5))
    assert (after_two["nights_365d"], after_two["stays_365d"]) == (3, 1)
    # before the returns, as a backdated occurrence sees it: the nights as bought
    before = figures(ctx, "G-3", at + timedelta(days=1, hours=1))
    assert (before["nights_365d"], before["stays_365d"]) == (7, 2)
    give_back(ctx, "R-3", "S-1", [("BREAKFAST", 1)], member_id="G-3", at=at + timedelta(days=6))
    assert figures(ctx, "G-3", at + timedelta(days=7))["nights_lifetime"] == 3


def test_banquet_attributes_add_up_for_rules_of_later_banquets(ctx: ServiceContext) -> None:
    use_folder(ctx, "hotel")
    guest(ctx, "G-4")
    at = datetime(2026, 4, 1, 19, tzinfo=UTC)
    first = event(ctx, "B-1", "G-4", "banquet", at, guests=60, fee="3000.50")
    assert fired(first) == []
    second = event(ctx, "B-2", "G-4", "banquet", at + timedelta(days=1), guests=40.5,
                   fee=2000)
    assert fired(second) == []  # 60 guests and 3,000.50 before it
    third = event(ctx, "B-3", "G-4", "banquet", at + timedelta(days=2), guests="many",
                  fee=-10)
    assert fired(third) == ["great-host", "big-spender"]
    assert "great-host" in member_row(ctx, "G-4").tags
    found = figures(ctx, "G-4", at + timedelta(days=3))
    assert (found["banquet_guests_30d"], found["banquet_fees_lifetime"]) == (
        Decimal("100.5"), Decimal("5000.50"))


def test_the_sweep_review_keeps_gold_by_nights_or_stays_and_downgrades_without_either(
        ctx: ServiceContext) -> None:
    use_folder(ctx, "hotel")
    reached = datetime(2025, 1, 15, 12, tzinfo=UTC)
    for member_id in ("NIGHTS", "STAYS", "NEITHER"):
        guest(ctx, member_id)
        for n in range(3):
            stay(ctx, f"{member_id}-GOLD-{n}", member_id, 10,
                 reached - timedelta(days=10 * (2 - n)))
        assert member_row(ctx, member_id).tier == "gold"
    stay(ctx, "NIGHTS-A", "NIGHTS", 15, datetime(2025, 6, 1, tzinfo=UTC))
    stay(ctx, "NIGHTS-B", "NIGHTS", 15, datetime(2025, 9, 1, tzinfo=UTC))
    for n in range(16):
        stay(ctx, f"STAYS-{n}", "STAYS", 1, datetime(2025, 3, 1, tzinfo=UTC) + timedelta(
            days=15 * n))
    for n in range(5):
        stay(ctx, f"NEITHER-{n}", "NEITHER", 2, datetime(2025, 3, 1, tzinfo=UTC) + timedelta(
            days=30 * n))
    review = reached.replace(year=2026)
    counts = run_sweep(ctx, review, phases=[TierPhase()], batch_size=2)["phases"]["tiers"]
    assert (counts["requalified"], counts["downgraded"]) == (2, 1)
    assert [member_row(ctx, m).tier for m in ("NIGHTS", "STAYS", "NEITHER")] == [
        "gold", "gold", "silver"]
    assert tier_reasons(ctx, "NEITHER")[-1] == (
        "silver", "requalification on 2026-01-15: nights_365d 10 below gold's 30, "
                  "stays_365d 5 below 15")


def test_guests_with_sixty_nights_in_a_year_are_vip(ctx: ServiceContext) -> None:
    use_folder(ctx, "hotel")
    at = datetime(2026, 2, 1, 15, tzinfo=UTC)
    for member_id, nights in (("VIP", 60), ("ALMOST", 59)):
        guest(ctx, member_id)
        for n in range(3):
            stay(ctx, f"{member_id}-{n}", member_id, nights // 3 + (n < nights % 3),
                 at + timedelta(days=30 * n))
    give_back(ctx, "R-ALMOST", "ALMOST-0", [("BREAKFAST", 1)], member_id="ALMOST",
              at=at + timedelta(days=70))
    counts = run_sweep(ctx, at + timedelta(days=75), phases=[VipPhase()])["phases"]["vip"]
    assert counts["joined"] == 1
    assert (member_row(ctx, "VIP").vip, member_row(ctx, "ALMOST").vip) == (True, False)


def test_a_shipper_reaches_priority_at_the_shipment_that_passes_500_tonnes(
        ctx: ServiceContext) -> None:
    use_folder(ctx, "freight")
    guest(ctx, "SHIP-1")
    at = datetime(2026, 5, 4, 8, tzinfo=UTC)
    bodies = [event(ctx, f"E-{n}", "SHIP-1", "shipment", at + timedelta(days=n),
                    tonnes=tonnes, lane="north")
              for n, tonnes in enumerate([200, "150.75", 99.25, 50])]
    assert [b["tier"]["after"] for b in bodies] == ["shipper"] * 3 + ["priority"]
    assert [("heavy-shipper" in fired(b)) for b in bodies] == [False, True, True, True]
    assert fired(bodies[-1]) == ["per-shipment", "heavy-shipper", "welcome-priority"]
    assert bodies[-1]["points"]["earned"] == 10 + 100 + 1000
    assert tier_reasons(ctx, "SHIP-1") == [
        ("priority", "qualified for priority: tonnage_365d reached 500.00")]
    guest(ctx, "SHIP-2")
    invoice = purchase(ctx, "INV-1", [("FREIGHT", "invoice", 1, "200000")], member_id="SHIP-2",
                       at=at).body
    assert invoice["tier"]["after"] == "priority"
    assert tier_reasons(ctx, "SHIP-2") == [
        ("priority", "qualified for priority: spend_365d reached 200000.00")]


def test_the_top_shippers_by_tonnage_are_vip_and_a_quiet_year_costs_priority(
        ctx: ServiceContext) -> None:
    use_folder(ctx, "freight")
    at = datetime(2025, 3, 1, 8, tzinfo=UTC)
    for n in range(10):
        guest(ctx, f"S-{n}")
        event(ctx, f"E-{n}", f"S-{n}", "shipment", at, tonnes=10 + 100 * n, lane="east")
    assert member_row(ctx, "S-9").tier == "priority"  # 910 tonnes
    counts = run_sweep(ctx, at + timedelta(days=1), phases=[VipPhase()])["phases"]["vip"]
    assert counts["joined"] == 1 and member_row(ctx, "S-9").vip
    event(ctx, "E-9b", "S-9", "shipment", at + timedelta(days=200), tonnes=120, lane="east")
    run_sweep(ctx, at.replace(year=2026), phases=[TierPhase()])
    assert member_row(ctx, "S-9").tier == "shipper"
    assert tier_reasons(ctx, "S-9")[-1] == (
        "shipper", "requalification on 2026-03-01: tonnage_365d 120.00 below priority's 500, "
                   "spend_365d 0.00 below 200000")


def _hotel_history(ctx: ServiceContext, guests: int = 6) -> datetime:
    """Stays, returns (some more than a year after the stay) and banquets over two and a half
    years; returns the last instant."""
    rng = random.Random(20261201)
    at = datetime(2024, 6, 1, 12, tzinfo=UTC)
    bought: list[tuple[str, str, int]] = []
    guests_ids = [f"H-{n}" for n in range(guests)]
    for member_id in guests_ids:
        guest(ctx, member_id)
    for n in range(160):
        at += timedelta(days=rng.choice([1, 3, 5, 8]), hours=rng.randint(0, 5))
        member_id = rng.choice(guests_ids)
        roll = rng.random()
        if roll < 0.6:
            nights = rng.randint(1, 7)
            stay(ctx, f"S-{n}", member_id, nights, at)
            bought.append((f"S-{n}", member_id, nights))
        elif roll < 0.75 and bought:
            tx_id, owner, nights = rng.choice(bought)
            if nights:
                back = rng.randint(1, nights)
                give_back(ctx, f"R-{n}", tx_id, [("ROOM-KING", back)], member_id=owner, at=at)
                bought[bought.index((tx_id, owner, nights))] = (tx_id, owner, nights - back)
        else:
            event(ctx, f"B-{n}", member_id, "banquet", at,
                  guests=rng.choice([10, 25.5, "40", "lots", True, -3]),
                  fee=rng.choice(["1200.50", 800, 99.999, -5, "12.34567", 2500.25]))
    return at


def test_a_replay_counts_every_figure_as_the_till_did(ctx: ServiceContext) -> None:
    book = use_folder(ctx, "hotel")
    _hotel_history(ctx)
    state = MemoryState()
    compared = 0
    for step in replay(HistoryReader(ctx.engine), lambda _: book, state):
        assert step.refused is None
        holder = state.members[step.item.member_id].holder
        at = step.item.occurred_at
        assert state.metric_figures(holder, at, book.policy.metrics) == figures(
            ctx, step.item.member_id, at), step.item.source_id
        compared += 1
    assert compared == HistoryReader(ctx.engine).count() > 150
    for member_id, memory in state.members.items():
        assert memory.holder.profile.tier == member_row(ctx, member_id).tier


def test_a_backtest_of_the_rules_in_force_reproduces_what_the_till_recorded(
        ctx: ServiceContext) -> None:
    use_folder(ctx, "hotel")
    end = _hotel_history(ctx)
    files = read_rule_dir(FOLDERS / "hotel")
    report = backtest(ctx, files, start=EARLY, end=end)
    assert report["replay_check"]["differences"] == 0, report["replay_check"]
    assert report["differing_decisions"] == 0
    assert report["tier_differences"]["count"] == 0
    rules = {row["rule_id"]: row["against_points"] for row in report["per_rule"]}
    assert rules["frequent-guest"] > 0 and rules["loyal-guest"] > 0 and rules["big-spender"] > 0


EVERY_KIND = """currency: CNY
events:
  service:
    attributes: {score: number, charge: money}
metrics:
  units:
    sum: line.quantity
  purchases:
    count: purchase
  filters:
    sum: line.quantity
    skus: [FLT-1, flt-2]
  groceries:
    count: purchase
    categories: [Épicerie]
    skus: [TV-55]
  scores:
    sum: event.attributes.score
    event: service
  charges:
    sum: event.attributes.charge
    event: service
"""
EVERY_KIND_RULES = """ruleset: thanks
on: [purchase, service]
rules:
  - id: thanks
    description: one point
    then:
      - award_points: {points: 1}
"""


def test_every_kind_of_metric_counts_the_same_in_the_database_and_in_memory(
        ctx: ServiceContext) -> None:
    """Metrics of every line, of product codes and of categories in any case, purchases without
    lines, returns made more than a year after the purchase, and attributes of every sort."""
    activate(ctx, {"program.yaml": EVERY_KIND, "thanks.yaml": EVERY_KIND_RULES},
             activated_by="test", reason="test")
    ctx.rules.invalidate()
    book = ctx.rules.current()
    rng = random.Random(7)
    products = [("FLT-1", "water"), ("Flt-2", "WATER"), ("TV-55", "tv"), ("BREAD", "ÉPICERIE"),
                ("JAM", "épicerie"), ("PEN", "office")]
    at = datetime(2024, 2, 1, 10, tzinfo=UTC)
    sold: list[tuple[str, str, list[tuple[str, int]]]] = []
    for member_id in ("A", "B", "C"):
        guest(ctx, member_id)
    for n in range(150):
        at += timedelta(days=rng.choice([2, 5, 9]))
        member_id = rng.choice("ABC")
        roll = rng.random()
        if roll < 0.5:
            picked = rng.sample(products, rng.randint(0, 3))
            lines = [(sku, category, rng.randint(1, 4), "10") for sku, category in picked]
            purchase(ctx, f"P-{n}", lines, member_id=member_id, at=at)
            sold.append((f"P-{n}", member_id, [(sku, qty) for sku, _, qty, _ in lines]))
        elif roll < 0.7 and sold:
            tx_id, owner, left = rng.choice(sold)
            if left:
                sku, quantity = rng.choice(left)
                back = rng.randint(1, quantity)
                give_back(ctx, f"R-{n}", tx_id, [(sku, back)], member_id=owner, at=at)
                left[left.index((sku, quantity))] = (sku, quantity - back)
                left[:] = [(s, q) for s, q in left if q]
        else:
            event(ctx, f"E-{n}", member_id, "service", at,
                  score=rng.choice([1, 2.5, "3.25", "x", None, 1e-05, -4, "1e3", 0.1 + 0.2]),
                  charge=rng.choice([10, "10.5", 0.1, -1, "1.23456", 7.77, "8."]))
    state = MemoryState()
    seen: set[str] = set()
    for step in replay(HistoryReader(ctx.engine), lambda _: book, state):
        member_id, moment = step.item.member_id, step.item.occurred_at
        holder = state.members[member_id].holder
        memory = state.metric_figures(holder, moment, book.policy.metrics)
        assert memory == figures(ctx, member_id, moment), step.item.source_id
        seen.update(name for name, value in memory.items() if value)
    assert seen == {f"{metric.name}_{period}" for metric in book.policy.metrics
                    for period in ("30d", "90d", "365d", "lifetime")}


def test_a_backtest_of_shipments_reproduces_the_upgrades_and_their_welcome(
        ctx: ServiceContext) -> None:
    use_folder(ctx, "freight")
    at = datetime(2025, 6, 2, 8, tzinfo=UTC)
    for n in range(4):
        guest(ctx, f"S-{n}")
    rng = random.Random(3)
    for n in range(60):
        at += timedelta(days=rng.choice([3, 7, 20]))
        event(ctx, f"E-{n}", f"S-{rng.randrange(4)}", "shipment", at,
              tonnes=rng.choice([40, 80.5, "120.25", 15]), lane="west")
    report = backtest(ctx, read_rule_dir(FOLDERS / "freight"), start=EARLY, end=at)
    assert report["replay_check"]["differences"] == 0, report["replay_check"]
    assert report["tier_differences"]["count"] == 0
    welcome = next(r for r in report["per_rule"] if r["rule_id"] == "welcome-priority")
    assert welcome["against_points"] >= 1000 and welcome["difference"] == 0


def test_a_downgrade_notice_projects_the_figures_to_the_end_of_the_grace_period(
        ctx: ServiceContext) -> None:
    """What will still count when the grace period ends if the guest stays no more: the sweep's
    notice compares that with the tier's thresholds."""
    book = use_folder(ctx, "hotel")
    guest(ctx, "G-5")
    as_of = datetime(2026, 6, 1, tzinfo=UTC)
    for n, days_before in enumerate((350, 200, 20)):
        stay(ctx, f"S-{n}", "G-5", 4 + n, as_of - timedelta(days=days_before))
    give_back(ctx, "R-1", "S-1", [("ROOM-KING", 5)], member_id="G-5",
              at=as_of - timedelta(days=10))
    until = {"G-5": as_of + timedelta(days=30)}
    metrics = book.policy.metrics
    with ctx.uow(read_only=True) as uow:
        now = {name: metric_values(uow, name, as_of, ["G-5"], metrics)["G-5"]
               for name in ("nights_365d", "stays_365d", "stays_lifetime")}
        then = {name: projected_values(uow, name, as_of, until, metrics)["G-5"]
                for name in ("nights_365d", "stays_365d", "stays_lifetime")}
    assert now == {"nights_365d": 10, "stays_365d": 2, "stays_lifetime": 2}
    assert then == {"nights_365d": 6, "stays_365d": 1, "stays_lifetime": 2}
