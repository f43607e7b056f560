"""Folding one member into another without a database: the account hands over its lots, debt
and lifetime points, and the profile, tier and figures the survivor ends up with."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from loyalty.domain.ledger import Account, Source
from loyalty.domain.merge import combined_figures, higher_tier, merge_profile

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
MERGE = Source("merge", "MRG-1", T0 + timedelta(days=5), rule_id="desk.merge", actor="admin")


def earned(account: Account, source_id: str, points: int, days: int) -> None:
    account.earn([(points, "base", Source("transaction", source_id, T0))],
                 pending_until=T0 + timedelta(days=days), expires_at=T0 + timedelta(days=730))


def test_every_lot_moves_with_its_dates_and_state_and_the_sums_match() -> None:
    gone, kept = Account("M2", 0, 0, 0, 0), Account("M1", 0, 0, 0, 0)
    earned(gone, "S1", 300, 0)  # available at once
    earned(gone, "S2", 200, 14)  # still pending
    gone.spend(100, "a reward", Source("redemption", "RD1", T0))
    earned(kept, "S3", 50, 0)
    gone.entries.clear()
    kept.entries.clear()

    held = gone.hand_over("merge_out", "merged into M1", MERGE)
    kept.take_over(held, "merge_in", "merged from M2", MERGE)

    assert (held.available, held.pending, held.debt, held.lifetime) == (200, 200, 0, 500)
    assert (gone.available, gone.pending, gone.debt, gone.lifetime) == (0, 0, 0, 0)
    assert (kept.available, kept.pending, kept.lifetime) == (250, 200, 550)
    moved = {lot.source_id: lot for lot in kept.new_lots}
    assert (moved["S1"].earned, moved["S1"].remaining, moved["S1"].state) == (
        200, 200, "available")
    assert (moved["S2"].state, moved["S2"].pending_until, moved["S2"].expires_at) == (
        "pending", T0 + timedelta(days=14), T0 + timedelta(days=730))
    assert all(lot.member_id == "M1" and lot.lot_id is None for lot in moved.values())
    assert all(lot.remaining == 0 for lot in gone.lots)
    assert sum(e.points for e in gone.entries) == -sum(e.points for e in kept.entries)
    assert {e.kind for e in gone.entries} == {"merge_out"}
    assert {(e.bucket, e.points) for e in kept.entries} == {
        ("available", 200), ("pending", 200), ("lifetime", 500)}


def test_a_debt_moves_as_a_debt() -> None:
    gone, kept = Account("M2", 0, 0, 40, 0), Account("M1", 0, 0, 0, 0)
    held = gone.hand_over("merge_out", "merged", MERGE)
    kept.take_over(held, "merge_in", "merged", MERGE)
    assert (gone.debt, kept.debt, held.debt) == (0, 40, 40)


def test_contact_details_move_where_the_survivor_has_none_else_become_aliases() -> None:
    survivor = {"phone": "+8613800000001", "email": None, "name": "Ann", "birth_date": None}
    duplicate = {"phone": "+8613800000002", "email": "ann@example.com", "name": "A.",
                 "birth_date": date(1990, 5, 4), "region": None}
    merged = merge_profile(survivor, duplicate)
    assert merged.taken == {"email": "ann@example.com", "birth_date": date(1990, 5, 4)}
    assert merged.aliases == (("phone", "+8613800000002"),)
    assert merged.cleared == ("phone", "email")


def test_the_higher_tier_is_kept_and_an_unknown_one_counts_lowest() -> None:
    ladder = ("member", "silver", "gold")
    assert higher_tier(ladder, "silver", "gold") == "gold"
    assert higher_tier(ladder, "gold", "silver") == "gold"
    assert higher_tier(ladder, "member", "retired-tier") == "member"
    assert higher_tier((), "member", "gold") == "member"


def test_lifetime_figures_add_up() -> None:
    later = T0 + timedelta(days=3)
    figures = combined_figures(
        {"lifetime_spend": Decimal("100.50"), "lifetime_visits": 2,
         "categories": ["kitchen"], "last_purchase_at": T0},
        {"lifetime_spend": Decimal("9.50"), "lifetime_visits": 1,
         "categories": ["appliances", "kitchen"], "last_purchase_at": later})
    assert figures == {"lifetime_spend": Decimal("110.00"), "lifetime_visits": 3,
                       "categories": ["kitchen", "appliances"], "last_purchase_at": later}
