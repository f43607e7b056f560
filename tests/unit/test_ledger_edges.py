"""The edges of the points account, with exact figures: debt repayment, the order in which
returns, redemptions and expiry take points, and the instants at which lots change bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from loyalty.domain.ledger import (
    ACTIVATION_RULE,
    CLAWBACK_RULE,
    EXPIRY_RULE,
    SHORTFALL_RULE,
    Account,
    Lot,
    Source,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WINDOW = T0 + timedelta(days=14)
ONE_MICROSECOND = timedelta(microseconds=1)


def src(source_id: str = "S1", at: datetime = T0, rule_id: str | None = "base-earn") -> Source:
    return Source("transaction", source_id, at, rule_id=rule_id, ruleset_version="7",
                  campaign="spring")


def lot(source_id: str, points: int, state: Literal["pending", "available"], *,
        lot_id: int, expires_in_days: int | None = 365) -> Lot:
    expires = None if expires_in_days is None else T0 + timedelta(days=expires_in_days)
    pending_until = WINDOW if state == "pending" else T0
    return Lot("M1", "transaction", source_id, "base-earn", points, points, state, T0,
               pending_until, expires, lot_id=lot_id)


def account_with(*lots: Lot, debt: int = 0) -> Account:
    """An account whose balances are exactly what its lots hold."""
    available = sum(x.remaining for x in lots if x.state == "available")
    pending = sum(x.remaining for x in lots if x.state == "pending")
    return Account("M1", available, pending, debt, available + pending, lots=list(lots))


def moves(account: Account) -> list[tuple[str, str, int, str | None]]:
    """Each new entry as (kind, bucket, points, source of its lot)."""
    return [(e.kind, e.bucket, e.points, e.lot.source_id if e.lot else None)
            for e in account.entries]


def balances(account: Account) -> tuple[int, int, int]:
    return account.available, account.pending, account.debt


def test_a_debt_larger_than_the_new_lot_takes_the_whole_lot_and_the_rest_stays_owed() -> None:
    account = Account("M1", 0, 0, 500, 1000)
    earned = account.earn([(300, "base", src("S2"))], pending_until=WINDOW, expires_at=None)
    assert earned is not None
    assert (earned.earned, earned.remaining, earned.state) == (300, 0, "pending")
    assert balances(account) == (0, 0, 200)
    assert account.lifetime == 1300
    assert moves(account) == [
        ("earn", "pending", 300, "S2"),
        ("debt_repayment", "pending", -300, "S2"),
        ("debt_repayment", "debt", -300, None),
    ]


def test_a_debt_larger_than_a_lot_available_at_once_takes_the_whole_lot() -> None:
    account = Account("M1", 40, 0, 500, 40)
    earned = account.earn([(300, "base", src("S2"))], pending_until=T0, expires_at=None)
    assert earned is not None and (earned.remaining, earned.state) == (0, "available")
    assert balances(account) == (40, 0, 200)
    assert moves(account) == [
        ("earn", "available", 300, "S2"),
        ("debt_repayment", "available", -300, "S2"),
        ("debt_repayment", "debt", -300, None),
    ]


def test_a_debt_smaller_than_the_new_lot_is_repaid_once_from_the_whole_lot() -> None:
    account = Account("M1", 0, 0, 120, 0)
    earned = account.earn([(100, "base", src("S2")), (50, "gold", src("S2", rule_id="gold"))],
                          pending_until=WINDOW, expires_at=None)
    assert earned is not None and (earned.earned, earned.remaining) == (150, 30)
    assert balances(account) == (0, 30, 0)
    assert account.lifetime == 150
    assert moves(account) == [
        ("earn", "pending", 100, "S2"),
        ("earn", "pending", 50, "S2"),
        ("debt_repayment", "pending", -120, "S2"),
        ("debt_repayment", "debt", -120, None),
    ]


def test_a_debt_equal_to_the_new_lot_is_cleared_and_leaves_an_empty_lot() -> None:
    account = Account("M1", 0, 0, 300, 0)
    earned = account.earn([(300, "base", src("S2"))], pending_until=WINDOW, expires_at=None)
    assert earned is not None and earned.remaining == 0
    assert balances(account) == (0, 0, 0)
    assert moves(account) == [
        ("earn", "pending", 300, "S2"),
        ("debt_repayment", "pending", -300, "S2"),
        ("debt_repayment", "debt", -300, None),
    ]


def test_debt_repayment_names_the_shortfall_policy_and_no_campaign() -> None:
    account = Account("M1", 0, 0, 10, 0)
    account.earn([(100, "base", src("S2"))], pending_until=WINDOW, expires_at=None)
    repayments = [e for e in account.entries if e.kind == "debt_repayment"]
    assert [(e.rule_id, e.campaign, e.source_id, e.ruleset_version) for e in repayments] == [
        (SHORTFALL_RULE, None, "S2", "7"), (SHORTFALL_RULE, None, "S2", "7")]


def test_earning_nothing_returns_no_lot_and_posts_nothing() -> None:
    account = Account("M1", 5, 6, 7, 8)
    assert account.earn([], pending_until=WINDOW, expires_at=None) is None
    assert account.earn([(0, "base", src()), (-20, "malus", src())], pending_until=WINDOW,
                        expires_at=None) is None
    assert (account.entries, account.lots, account.new_lots) == ([], [], [])
    assert (*balances(account), account.lifetime) == (5, 6, 7, 8)


def test_zero_parts_are_left_out_and_the_lot_belongs_to_the_first_part_that_earns() -> None:
    account = Account("M1", 0, 0, 0, 0)
    earned = account.earn([(0, "base", src("S1")), (40, "bonus", src("S2", rule_id="bonus"))],
                          pending_until=WINDOW, expires_at=None)
    assert earned is not None
    assert (earned.source_id, earned.rule_id, earned.earned) == ("S2", "bonus", 40)
    assert moves(account) == [("earn", "pending", 40, "S2")]
    assert (*balances(account), account.lifetime) == (0, 40, 0, 40)


def test_lifetime_grows_by_everything_earned_even_what_repays_a_debt() -> None:
    account = Account("M1", 0, 0, 60, 900)
    account.earn([(70, "base", src("S2")), (30, "bonus", src("S2"))], pending_until=WINDOW,
                 expires_at=None)
    assert account.lifetime == 1000


def test_return_claws_back_other_pending_points_before_its_own_available_ones() -> None:
    own = lot("S1", 100, "available", lot_id=1)
    other = lot("S2", 80, "pending", lot_id=2)
    account = account_with(own, other)
    shortfall = account.claw_back(50, "return", src("R1"), original_source_id="S1",
                                  shortfall="debt")
    assert shortfall == 0
    assert (own.remaining, other.remaining) == (100, 30)
    assert balances(account) == (100, 30, 0)
    assert moves(account) == [("clawback", "pending", -50, "S2")]


def test_return_claws_back_its_own_pending_points_before_other_pending_ones() -> None:
    other = lot("S2", 100, "pending", lot_id=1, expires_in_days=30)
    own = lot("S1", 100, "pending", lot_id=2, expires_in_days=400)
    account = account_with(other, own)
    account.claw_back(120, "return", src("R1"), original_source_id="S1", shortfall="debt")
    assert (own.remaining, other.remaining) == (0, 80)
    assert balances(account) == (0, 80, 0)
    assert moves(account) == [("clawback", "pending", -100, "S1"),
                              ("clawback", "pending", -20, "S2")]


def test_return_claws_back_every_pending_point_soonest_expiring_first_then_available() -> None:
    late_available = lot("A", 50, "available", lot_id=1, expires_in_days=30)
    soon_available = lot("B", 50, "available", lot_id=2, expires_in_days=10)
    late_pending = lot("C", 40, "pending", lot_id=3, expires_in_days=400)
    soon_pending = lot("D", 40, "pending", lot_id=4, expires_in_days=380)
    account = account_with(late_available, soon_available, late_pending, soon_pending)
    shortfall = account.claw_back(150, "return", src("R1"), original_source_id="GONE",
                                  shortfall="debt")
    assert shortfall == 0
    assert [x.remaining for x in (soon_pending, late_pending, soon_available, late_available)
            ] == [0, 0, 0, 30]
    assert balances(account) == (30, 0, 0)
    assert moves(account) == [
        ("clawback", "pending", -40, "D"),
        ("clawback", "pending", -40, "C"),
        ("clawback", "available", -50, "B"),
        ("clawback", "available", -20, "A"),
    ]


def test_return_claws_back_available_points_soonest_expiring_first_never_expiring_last() -> None:
    never = lot("N", 100, "available", lot_id=1, expires_in_days=None)
    late = lot("L", 100, "available", lot_id=2, expires_in_days=300)
    soon = lot("S", 100, "available", lot_id=3, expires_in_days=20)
    account = account_with(never, late, soon)
    account.claw_back(250, "return", src("R1"), original_source_id="GONE", shortfall="debt")
    assert (soon.remaining, late.remaining, never.remaining) == (0, 0, 50)
    assert moves(account) == [("clawback", "available", -100, "S"),
                              ("clawback", "available", -100, "L"),
                              ("clawback", "available", -50, "N")]


def test_return_skips_lots_already_emptied() -> None:
    empty = lot("E", 100, "pending", lot_id=1)
    empty.remaining = 0
    kept = lot("K", 100, "available", lot_id=2)
    account = account_with(empty, kept)
    account.claw_back(30, "return", src("R1"), original_source_id="E", shortfall="debt")
    assert (empty.remaining, kept.remaining, empty.changed) == (0, 70, False)
    assert moves(account) == [("clawback", "available", -30, "K")]


def test_a_return_shortfall_under_the_debt_policy_is_owed() -> None:
    spent_down = lot("S1", 100, "available", lot_id=1)
    account = account_with(spent_down, debt=20)
    shortfall = account.claw_back(150, "return of S1", src("R1"), original_source_id="S1",
                                  shortfall="debt")
    assert shortfall == 50
    assert spent_down.remaining == 0
    assert balances(account) == (0, 0, 70)
    assert [(e.kind, e.bucket, e.points, e.rule_id, e.reason) for e in account.entries] == [
        ("clawback", "available", -100, CLAWBACK_RULE, "return of S1"),
        ("debt", "debt", 50, SHORTFALL_RULE, "return of S1 (shortfall owed)"),
    ]


def test_a_return_shortfall_under_the_floor_policy_is_waived_and_owes_nothing() -> None:
    spent_down = lot("S1", 100, "available", lot_id=1)
    account = account_with(spent_down)
    shortfall = account.claw_back(150, "return of S1", src("R1"), original_source_id="S1",
                                  shortfall="floor")
    assert shortfall == 50
    assert spent_down.remaining == 0
    assert balances(account) == (0, 0, 0)
    assert [(e.kind, e.bucket, e.points, e.rule_id, e.reason) for e in account.entries] == [
        ("clawback", "available", -100, CLAWBACK_RULE, "return of S1"),
        ("waived", "waived", 50, SHORTFALL_RULE, "return of S1 (shortfall waived)"),
    ]


def test_a_return_of_nothing_posts_nothing() -> None:
    kept = lot("S1", 100, "available", lot_id=1)
    account = account_with(kept)
    assert account.claw_back(0, "return", src("R1"), original_source_id="S1",
                             shortfall="debt") == 0
    assert (account.entries, kept.remaining, kept.changed) == ([], 100, False)


def test_spending_takes_soonest_expiring_points_first_and_never_expiring_ones_last() -> None:
    never = lot("N", 100, "available", lot_id=1, expires_in_days=None)
    late = lot("L", 100, "available", lot_id=2, expires_in_days=300)
    soon = lot("S", 100, "available", lot_id=3, expires_in_days=20)
    account = account_with(never, late, soon)
    account.spend(250, "redeemed 1 x mug", Source("redemption", "RD1", T0))
    assert (soon.remaining, late.remaining, never.remaining) == (0, 0, 50)
    assert balances(account) == (50, 0, 0)
    assert moves(account) == [("redeem", "available", -100, "S"),
                              ("redeem", "available", -100, "L"),
                              ("redeem", "available", -50, "N")]


def test_spending_breaks_a_tie_in_expiry_by_the_older_lot() -> None:
    newer = lot("NEW", 100, "available", lot_id=9, expires_in_days=30)
    older = lot("OLD", 100, "available", lot_id=4, expires_in_days=30)
    account = account_with(newer, older)
    account.spend(120, "redeemed 1 x mug", Source("redemption", "RD1", T0))
    assert (older.remaining, newer.remaining) == (0, 80)


def test_spending_never_touches_pending_points() -> None:
    pending = lot("P", 100, "pending", lot_id=1, expires_in_days=5)
    available = lot("A", 100, "available", lot_id=2, expires_in_days=300)
    account = account_with(pending, available)
    account.spend(100, "redeemed 1 x mug", Source("redemption", "RD1", T0))
    assert (pending.remaining, available.remaining) == (100, 0)
    assert balances(account) == (0, 100, 0)
    assert moves(account) == [("redeem", "available", -100, "A")]


def test_spending_beyond_the_available_balance_is_refused_and_changes_nothing() -> None:
    available = lot("A", 100, "available", lot_id=1)
    pending = lot("P", 100, "pending", lot_id=2)
    account = account_with(available, pending)
    with pytest.raises(ValueError, match=r"^taking more than the available balance$"):
        account.spend(101, "redeemed 1 x mug", Source("redemption", "RD1", T0))
    assert (account.entries, available.remaining, pending.remaining) == ([], 100, 100)
    assert balances(account) == (100, 100, 0)
    account.spend(100, "redeemed 1 x mug", Source("redemption", "RD2", T0))
    assert balances(account) == (0, 100, 0)


def test_pending_points_stay_pending_until_one_microsecond_before_the_window_ends() -> None:
    pending = lot("S1", 100, "pending", lot_id=1)
    account = account_with(pending)
    account.settle(WINDOW - ONE_MICROSECOND, Source("view", "M1", WINDOW - ONE_MICROSECOND))
    assert (pending.state, pending.changed, account.entries) == ("pending", False, [])
    assert balances(account) == (0, 100, 0)


def test_pending_points_become_available_at_exactly_the_end_of_the_window() -> None:
    pending = lot("S1", 100, "pending", lot_id=1)
    account = account_with(pending)
    account.settle(WINDOW, Source("view", "M1", WINDOW))
    assert (pending.state, pending.remaining) == ("available", 100)
    assert balances(account) == (100, 0, 0)
    assert [(e.kind, e.bucket, e.points, e.rule_id) for e in account.entries] == [
        ("activate", "pending", -100, ACTIVATION_RULE),
        ("activate", "available", 100, ACTIVATION_RULE),
    ]


def test_points_are_still_spendable_one_microsecond_before_they_expire() -> None:
    held = lot("S1", 100, "available", lot_id=1, expires_in_days=30)
    account = account_with(held)
    at = T0 + timedelta(days=30) - ONE_MICROSECOND
    account.settle(at, Source("view", "M1", at))
    assert (held.remaining, account.entries) == (100, [])
    assert balances(account) == (100, 0, 0)


def test_points_expire_at_exactly_their_expiry_instant() -> None:
    held = lot("S1", 100, "available", lot_id=1, expires_in_days=30)
    account = account_with(held)
    at = T0 + timedelta(days=30)
    account.settle(at, Source("view", "M1", at))
    assert held.remaining == 0
    assert balances(account) == (0, 0, 0)
    assert [(e.kind, e.bucket, e.points, e.rule_id) for e in account.entries] == [
        ("expire", "available", -100, EXPIRY_RULE)]


def test_a_lot_both_matured_and_expired_is_activated_then_expired_in_one_settle() -> None:
    pending = lot("S1", 100, "pending", lot_id=1, expires_in_days=30)
    account = account_with(pending)
    at = T0 + timedelta(days=90)
    account.settle(at, Source("view", "M1", at))
    assert (pending.state, pending.remaining) == ("available", 0)
    assert balances(account) == (0, 0, 0)
    assert moves(account) == [("activate", "pending", -100, "S1"),
                              ("activate", "available", 100, "S1"),
                              ("expire", "available", -100, "S1")]


def test_never_expiring_points_outlive_any_settle() -> None:
    held = lot("S1", 100, "available", lot_id=1, expires_in_days=None)
    account = account_with(held)
    at = datetime(9999, 12, 31, tzinfo=UTC)
    account.settle(at, Source("view", "M1", at))
    assert (held.remaining, account.entries) == (100, [])


def test_settling_twice_at_the_same_instant_posts_nothing_the_second_time() -> None:
    pending = lot("S1", 100, "pending", lot_id=1, expires_in_days=30)
    held = lot("S2", 50, "available", lot_id=2, expires_in_days=20)
    account = account_with(pending, held)
    at = T0 + timedelta(days=20)
    account.settle(at, Source("view", "M1", at))
    first = moves(account)
    account.settle(at, Source("view", "M1", at))
    assert moves(account) == first == [("expire", "available", -50, "S2"),
                                       ("activate", "pending", -100, "S1"),
                                       ("activate", "available", 100, "S1")]
    assert balances(account) == (100, 0, 0)


def test_spending_across_lots_takes_the_last_point_from_the_next_lot() -> None:
    first = lot("A", 2, "available", lot_id=1)
    second = lot("B", 5, "available", lot_id=2)
    account = account_with(first, second)
    account.spend(3, "redeemed", Source("redemption", "RD1", T0))
    assert (first.remaining, second.remaining) == (0, 4)
    assert moves(account) == [("redeem", "available", -2, "A"), ("redeem", "available", -1, "B")]
    assert balances(account) == (4, 0, 0)


def test_spending_from_lots_that_do_not_cover_the_balance_is_refused() -> None:
    short = lot("A", 5, "available", lot_id=1)
    account = account_with(short)
    account.available = 10  # a balance the loaded lots do not add up to
    with pytest.raises(ValueError, match=r"^loaded lots do not cover the available balance$"):
        account.spend(8, "redeemed", Source("redemption", "RD1", T0))


def test_a_return_takes_the_last_point_of_a_lot() -> None:
    last_point = lot("S1", 100, "pending", lot_id=1)
    last_point.remaining = 1
    other = lot("S2", 100, "pending", lot_id=2)
    account = account_with(last_point, other)
    account.claw_back(3, "return of S1", src("R1"), original_source_id="S1", shortfall="debt")
    assert (last_point.remaining, other.remaining) == (0, 98)
    assert moves(account) == [("clawback", "pending", -1, "S1"), ("clawback", "pending", -2, "S2")]


def test_never_expiring_lots_are_spent_oldest_first() -> None:
    newer = lot("NEW", 100, "available", lot_id=1, expires_in_days=None)
    newer.earned_at = T0 + timedelta(days=3)
    older = lot("OLD", 100, "available", lot_id=2, expires_in_days=None)
    account = account_with(newer, older)
    account.spend(150, "redeemed", Source("redemption", "RD1", T0))
    assert moves(account) == [("redeem", "available", -100, "OLD"),
                              ("redeem", "available", -50, "NEW")]


def test_spending_leaves_emptied_lots_untouched() -> None:
    empty = lot("E", 100, "available", lot_id=1, expires_in_days=10)
    empty.remaining = 0
    kept = lot("K", 100, "available", lot_id=2, expires_in_days=20)
    account = account_with(empty, kept)
    account.spend(30, "redeemed", Source("redemption", "RD1", T0))
    assert (empty.changed, kept.changed, kept.remaining) == (False, True, 70)
    assert moves(account) == [("redeem", "available", -30, "K")]


def test_spending_takes_the_last_point_of_a_lot() -> None:
    last_point = lot("A", 100, "available", lot_id=1, expires_in_days=10)
    last_point.remaining = 1
    other = lot("B", 100, "available", lot_id=2, expires_in_days=20)
    account = account_with(last_point, other)
    account.spend(2, "redeemed", Source("redemption", "RD1", T0))
    assert (last_point.remaining, other.remaining) == (0, 99)
    assert moves(account) == [("redeem", "available", -1, "A"), ("redeem", "available", -1, "B")]


def test_every_entry_names_the_rule_version_and_campaign_that_caused_it() -> None:
    account = account_with()
    account.earn([(40, "base", src("S1")), (10, "bonus", src("S1", rule_id="spring-bonus"))],
                 pending_until=WINDOW, expires_at=None)
    assert [(e.rule_id, e.ruleset_version, e.campaign, e.reason) for e in account.entries] == [
        ("base-earn", "7", "spring", "base"), ("spring-bonus", "7", "spring", "bonus")]


def test_a_debt_of_one_point_is_repaid() -> None:
    account = account_with(debt=1)
    account.earn([(10, "base", src("S1"))], pending_until=WINDOW, expires_at=None)
    assert balances(account) == (0, 9, 0)


def test_debt_repayment_and_settling_explain_themselves_in_the_ledger() -> None:
    account = account_with(debt=5)
    account.earn([(10, "base", src("S1"))], pending_until=WINDOW, expires_at=WINDOW)
    account.settle(WINDOW, Source("sweep", "daily", WINDOW))
    assert [(e.kind, e.bucket, e.points, e.reason) for e in account.entries] == [
        ("earn", "pending", 10, "base"),
        ("debt_repayment", "pending", -5, "repays an earlier shortfall"),
        ("debt_repayment", "debt", -5, "repays an earlier shortfall"),
        ("activate", "pending", -5, "the return window is over: points can be spent"),
        ("activate", "available", 5, "the return window is over: points can be spent"),
        ("expire", "available", -5, "points expired"),
    ]


def test_settling_leaves_emptied_lots_as_they_are_and_settles_the_rest() -> None:
    empty = lot("E", 100, "pending", lot_id=1, expires_in_days=1)
    empty.remaining = 0
    one_point = lot("P", 100, "pending", lot_id=2, expires_in_days=400)
    one_point.remaining = 1
    account = account_with(empty, one_point)
    account.settle(WINDOW, Source("sweep", "daily", WINDOW))
    assert (empty.state, empty.changed) == ("pending", False)
    assert (one_point.state, one_point.remaining) == ("available", 1)
    assert balances(account) == (1, 0, 0)


def test_an_expired_lot_with_one_point_left_expires() -> None:
    one_point = lot("A", 100, "available", lot_id=1, expires_in_days=20)
    one_point.remaining = 1
    account = account_with(one_point)
    at = T0 + timedelta(days=20)
    account.settle(at, Source("sweep", "daily", at))
    assert (one_point.remaining, balances(account)) == (0, (0, 0, 0))
