"""Progress to the next tier with declared metrics and `or:` alternatives (the small hotel
folder of tests/rule_folders): one entry per way up, the figures the till decides with, and
the same figures the sweep reviews by."""

from __future__ import annotations

from datetime import timedelta

from loyalty.services import members
from loyalty.services.context import ServiceContext
from loyalty.services.sweep.tiers import metric_values
from tests.integration.test_declared_metrics import JOINED, guest, stay, use_folder


def test_a_silver_guest_sees_both_ways_to_gold_with_the_sweeps_own_figures(
        ctx: ServiceContext) -> None:
    book = use_folder(ctx, "hotel")
    guest(ctx, "G-1")
    at = JOINED + timedelta(days=10)
    stay(ctx, "S-1", "G-1", 6, at)
    receipt = stay(ctx, "S-2", "G-1", 5, at + timedelta(days=1))
    assert receipt["tier"]["after"] == "silver"
    upgraded = at + timedelta(days=1)
    review = upgraded.replace(year=upgraded.year + 1).isoformat()  # the anniversary
    assert receipt["tier_progress"] == [
        {"metric": "nights_365d", "now": "11", "next_tier": "gold", "needed": "19", "by": review},
        {"metric": "stays_365d", "now": "2", "next_tier": "gold", "needed": "13", "by": review},
    ]
    seen = members.get_member(ctx, "G-1", at + timedelta(days=2))
    assert seen["tier_progress"] == receipt["tier_progress"]
    with ctx.uow(read_only=True) as uow:
        swept = {name: metric_values(uow, name, at + timedelta(days=2), ["G-1"],
                                     book.policy.metrics)["G-1"]
                 for name in ("nights_365d", "stays_365d")}
    assert {step["metric"]: step["now"] for step in seen["tier_progress"]} == {
        name: str(value) for name, value in swept.items()}


def test_the_figures_of_a_year_ago_leave_the_window(ctx: ServiceContext) -> None:
    use_folder(ctx, "hotel")
    guest(ctx, "G-2")
    at = JOINED + timedelta(days=10)
    stay(ctx, "S-1", "G-2", 4, at)
    later = members.get_member(ctx, "G-2", at + timedelta(days=366))
    assert later["tier_progress"] == [
        {"metric": "nights_365d", "now": "0", "next_tier": "silver", "needed": "10",
         "by": None}]
