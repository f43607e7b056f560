"""The points account: lots, buckets and entries, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.domain.ledger import SHORTFALL_RULE, Account, Lot, Piece, Source

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def src(source_id: str = "S1", at: datetime = T0) -> Source:
    return Source("transaction", source_id, at, rule_id="base-earn", ruleset_version="1")


def bucket_sum(account: Account, bucket: str) -> int:
    return sum(entry.points for entry in account.entries if entry.bucket == bucket)


def test_earning_creates_one_pending_lot_with_an_entry_per_rule() -> None:
    account = Account("M1", 0, 0, 0, 0)
    lot = account.earn([(100, "base", src()), (50, "gold", src())],
                       pending_until=T0 + timedelta(days=14), expires_at=None)
    assert lot is not None and lot.state == "pending" and lot.earned == 150
    assert [e.points for e in account.entries] == [100, 50]
    assert account.pending == 150 and account.available == 0 and account.lifetime == 150


def test_earning_with_no_return_window_is_available_at_once() -> None:
    account = Account("M1", 0, 0, 0, 0)
    account.earn([(10, "base", src())], pending_until=T0, expires_at=None)
    assert account.available == 10 and account.pending == 0


def test_settle_activates_matured_lots_and_expires_old_ones() -> None:
    account = Account("M1", 0, 0, 0, 0)
    account.earn([(100, "a", src("S1"))], pending_until=T0 + timedelta(days=14),
                 expires_at=T0 + timedelta(days=365))
    account.settle(T0 + timedelta(days=13), src())
    assert account.pending == 100
    account.settle(T0 + timedelta(days=14), src())
    assert (account.pending, account.available) == (0, 100)
    account.settle(T0 + timedelta(days=365), src())
    assert account.available == 0
    assert bucket_sum(account, "available") == account.available
    assert bucket_sum(account, "pending") == account.pending


def test_spending_takes_the_soonest_expiring_lots_first() -> None:
    late = Lot("M1", "transaction", "A", None, 100, 100, "available", T0, T0,
               T0 + timedelta(days=300), lot_id=1)
    soon = Lot("M1", "transaction", "B", None, 100, 100, "available", T0, T0,
               T0 + timedelta(days=30), lot_id=2)
    account = Account("M1", 200, 0, 0, 200, lots=[late, soon])
    account.spend(150, "redeem", Source("redemption", "R1", T0))
    assert (soon.remaining, late.remaining) == (0, 50)
    assert account.available == 50


def test_giving_points_away_returns_each_piece_with_its_lots_instants() -> None:
    soon_expiry, late_expiry = T0 + timedelta(days=30), T0 + timedelta(days=300)
    late = Lot("M1", "transaction", "A", None, 100, 100, "available", T0 - timedelta(days=9),
               T0 - timedelta(days=2), late_expiry, lot_id=1)
    soon = Lot("M1", "transaction", "B", None, 40, 40, "available", T0 - timedelta(days=5),
               T0 - timedelta(days=1), soon_expiry, lot_id=2)
    account = Account("M1", 140, 0, 0, 140, lots=[late, soon])
    pieces = account.give(70, "to M2", Source("transfer", "TR1", T0))
    assert pieces == [Piece(40, T0 - timedelta(days=5), T0 - timedelta(days=1), soon_expiry),
                      Piece(30, T0 - timedelta(days=9), T0 - timedelta(days=2), late_expiry)]
    assert account.available == 70
    assert [(e.kind, e.points) for e in account.entries] == [("transfer_out", -40),
                                                             ("transfer_out", -30)]


def test_spending_more_than_available_is_refused() -> None:
    account = Account("M1", 10, 0, 0, 10)
    with pytest.raises(ValueError):
        account.spend(11, "redeem", src())


def test_clawback_takes_pending_points_before_available_ones() -> None:
    available = Lot("M1", "transaction", "OLD", None, 100, 100, "available", T0, T0, None,
                    lot_id=1)
    pending = Lot("M1", "transaction", "NEW", None, 60, 60, "pending", T0,
                  T0 + timedelta(days=14), None, lot_id=2)
    account = Account("M1", 100, 60, 0, 160, lots=[available, pending])
    shortfall = account.claw_back(80, "return", src("RET"), original_source_id="NEW",
                                  shortfall="debt")
    assert shortfall == 0
    assert (pending.remaining, available.remaining) == (0, 80)
    assert (account.pending, account.available) == (0, 80)


def test_a_shortfall_becomes_debt_that_later_earnings_repay() -> None:
    account = Account("M1", 0, 0, 0, 0)
    assert account.claw_back(30, "return", src("RET"), original_source_id="X",
                             shortfall="debt") == 30
    assert account.debt == 30
    lot = account.earn([(100, "base", src("S2"))], pending_until=T0, expires_at=None)
    assert lot is not None and lot.remaining == 70
    assert (account.debt, account.available) == (0, 70)


def test_a_floored_shortfall_is_recorded_as_waived_not_dropped() -> None:
    account = Account("M1", 0, 0, 0, 0)
    account.claw_back(30, "return", src("RET"), original_source_id="X", shortfall="floor")
    assert account.debt == 0 and account.available == 0
    assert [(e.kind, e.bucket, e.points) for e in account.entries] == [("waived", "waived", 30)]


def test_a_single_point_is_earned_and_a_zero_part_is_not_an_entry() -> None:
    account = Account("M1", 0, 0, 0, 0)
    lot = account.earn([(1, "one point", src()), (0, "nothing", src())], pending_until=T0,
                       expires_at=None)
    assert lot is not None and lot.earned == 1
    assert [(e.points, e.reason) for e in account.entries] == [(1, "one point")]
    assert account.available == 1 and account.lifetime == 1


def test_every_entry_names_the_person_behind_its_source() -> None:
    account = Account("M1", 0, 0, 0, 0)
    desk = Source("adjustment", "A-1", T0, rule_id="desk.adjustment", actor="ann.chen")
    account.earn([(500, "late delivery", desk)], pending_until=T0, expires_at=None)
    account.spend(200, "given twice", desk, kind="adjust")
    account.earn([(10, "base", src())], pending_until=T0, expires_at=None)
    assert [(e.kind, e.points, e.actor) for e in account.entries] == [
        ("earn", 500, "ann.chen"), ("adjust", -200, "ann.chen"), ("earn", 10, None)]


def test_points_received_from_another_member_repay_a_debt_first() -> None:
    account = Account("M2", 0, 0, 0, 0)
    account.claw_back(30, "return", src("RET"), original_source_id="X", shortfall="debt")
    gift = Source("transfer", "TR1", T0, rule_id="desk.transfer", campaign="family")
    expires = T0 + timedelta(days=90)
    account.receive([Piece(50, T0 - timedelta(days=40), T0 - timedelta(days=26), expires)],
                    "from member M1", gift)
    assert (account.available, account.debt, account.lifetime) == (20, 0, 0)
    assert [(e.kind, e.bucket, e.points, e.rule_id, e.campaign, e.reason)
            for e in account.entries[1:]] == [
        ("transfer_in", "available", 50, "desk.transfer", "family", "from member M1"),
        ("debt_repayment", "available", -30, SHORTFALL_RULE, None,
         "repays an earlier shortfall"),
        ("debt_repayment", "debt", -30, SHORTFALL_RULE, None, "repays an earlier shortfall"),
    ]
    (lot,) = account.new_lots
    assert (lot.remaining, lot.expires_at, lot.state) == (20, expires, "available")


def test_a_merge_hands_every_lot_debt_and_lifetime_point_over_with_its_reason() -> None:
    kept = Lot("M2", "transaction", "A", None, 100, 60, "available", T0, T0,
               T0 + timedelta(days=300), lot_id=1)
    waiting = Lot("M2", "transaction", "B", None, 40, 40, "pending", T0,
                  T0 + timedelta(days=14), None, lot_id=2)
    duplicate = Account("M2", 60, 40, 5, 140, lots=[kept, waiting])
    survivor = Account("M1", 0, 0, 0, 0)
    merge = Source("merge", "MRG-1", T0, rule_id="desk.merge")
    held = duplicate.hand_over("merge_out", "merged into M1: same person", merge)
    survivor.take_over(held, "merge_in", "merged from M2: same person", merge)
    assert (survivor.available, survivor.pending, survivor.debt, survivor.lifetime) == (
        60, 40, 5, 140)
    assert (duplicate.available, duplicate.pending, duplicate.debt) == (0, 0, 0)
    assert [(e.kind, e.bucket, e.points, e.reason) for e in survivor.entries] == [
        ("merge_in", "available", 60, "merged from M2: same person"),
        ("merge_in", "pending", 40, "merged from M2: same person"),
        ("merge_in", "debt", 5, "merged from M2: same person"),
        ("merge_in", "lifetime", 140, "merged from M2: same person"),
    ]
    assert [(lot.remaining, lot.pending_until) for lot in survivor.new_lots] == [
        (60, T0), (40, T0 + timedelta(days=14))]
