"""Vouchers presented at the till, and the rewards a return takes back, through the use cases
on a real database (SQLite, or PostgreSQL with LOYALTY_TEST_DATABASE_URL), and replayed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty.domain.commands import LineIn, RecordEvent, RecordTransaction
from loyalty.domain.errors import VoucherRefused
from loyalty.engine import read_rule_dir
from loyalty.services import events, members, reports, transactions
from loyalty.services.backtest import backtest
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.replay import MemoryState, replay
from loyalty.services.rules import explain
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.history import HistoryReader, SharedCounters, replay_codes
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, fingerprint, give_back, use_rules

FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
FILTERS = ("FILTER-1", "accessories", 2, "49.50")
MUG = ("MUG-1", "homeware", 1, "20.00")
DAY = timedelta(days=1)
APOLOGY = """
ruleset: apology
description: Rules that read the vouchers presented, and a gift for a big basket.
on: [purchase]
rules:
  - id: apology-bonus
    description: 300 points on the purchase that uses an apology voucher
    priority: 40
    when:
      - {fact: vouchers.presented, contains: SORRY-VOUCHER}
    then:
      - award_points: {points: 300}
  - id: big-basket-voucher
    description: A voucher for a purchase over 4000 CNY
    priority: 60
    when:
      - {fact: event.total, above: 4000}
    then:
      - grant_reward: {reward: WELCOME-VOUCHER, valid_days: 30}
"""


@pytest.fixture
def member(ctx: ServiceContext) -> str:
    ctx.clock = lambda: T0 + 30 * DAY
    use_rules(ctx, apology=APOLOGY)
    return str(enrol(ctx)["member_id"])


def buy(ctx: ServiceContext, tx_id: str, lines: list[tuple[str, str, int, str]], *,
        vouchers: tuple[str, ...] = (), at: datetime = T0,
        member_id: str = "M-1001") -> dict[str, Any]:
    cmd = RecordTransaction(
        transaction_id=tx_id, type="purchase", member_id=member_id, occurred_at=at,
        fingerprint=fingerprint(tx=tx_id, lines=lines, vouchers=vouchers), currency="CNY",
        lines=tuple(LineIn(sku=s, category=c, quantity=q, unit_price=Decimal(p))
                    for s, c, q, p in lines), vouchers=vouchers)
    recorded: Recorded = transactions.record_transaction(ctx, cmd)
    return recorded.body


def complaint(ctx: ServiceContext, event_id: str, at: datetime,
              member_id: str = "M-1001") -> str:
    """An upheld complaint: the apology voucher's code."""
    body = events.record_event(ctx, RecordEvent(
        event_id=event_id, type="complaint", member_id=member_id, occurred_at=at,
        fingerprint=fingerprint(event=event_id), attributes={"outcome": "upheld"})).body
    (voucher,) = [r["voucher_code"] for r in body["rewards"] if r["reward_id"] == "SORRY-VOUCHER"]
    return str(voucher)


def gift(body: dict[str, Any], reward_id: str) -> str:
    (code,) = [r["voucher_code"] for r in body["rewards"] if r["reward_id"] == reward_id]
    return str(code)


def reward_row(ctx: ServiceContext, code: str) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(select(t.member_rewards)
                            .where(t.member_rewards.c.voucher_code == code)).one()


def stock_taken(ctx: ServiceContext, reward_id: str) -> int:
    with ctx.engine.connect() as conn:
        value = conn.execute(select(t.reward_counters.c.redeemed)
                             .where(t.reward_counters.c.reward_id == reward_id)).scalar()
    return int(value or 0)


def recorded_rows(ctx: ServiceContext) -> tuple[int, ...]:
    with ctx.engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(table)).scalar_one()
                     for table in (t.transactions, t.ledger_entries, t.history,
                                   t.idempotency_keys))


def held_codes(ctx: ServiceContext) -> list[str]:
    """The vouchers the member holds, as the till sees them a few days after `T0`."""
    return [r["voucher_code"] for r in members.get_member(ctx, "M-1001", T0 + 3 * DAY)["rewards"]]


def refusal(call: Any) -> list[tuple[str, str]]:
    with pytest.raises(VoucherRefused) as caught:
        call()
    return [(v["voucher_code"], v["reason"]) for v in caught.value.details["vouchers"]]


def test_a_presented_voucher_is_used_by_the_purchase_and_rules_see_its_reward(
        ctx: ServiceContext, member: str) -> None:
    sorry = complaint(ctx, "E-1", T0)
    assert sorry in held_codes(ctx)
    body = buy(ctx, "S-1", [MUG], vouchers=(sorry,), at=T0 + DAY)
    assert body["vouchers"] == [{"voucher_code": sorry, "reward_id": "SORRY-VOUCHER",
                                 "quantity": 1, "status": "used"}]
    assert [(d["rule_id"], d["points"]) for d in body["decisions"]
            if d["rule_id"] == "apology-bonus"] == [("apology-bonus", 300)]
    row = reward_row(ctx, sorry)
    assert (row.status, row.used_transaction_id, row.used_at) == ("used", "S-1", T0 + DAY)
    assert sorry not in held_codes(ctx)
    assert verify_ledger(ctx) == []


def test_a_voucher_that_cannot_be_used_refuses_the_purchase_and_records_nothing(
        ctx: ServiceContext, member: str) -> None:
    enrol(ctx, "M-2002", email="bob@example.com")
    sorry = complaint(ctx, "E-1", T0)
    bobs = complaint(ctx, "E-2", T0, member_id="M-2002")
    buy(ctx, "S-1", [MUG], vouchers=(sorry,), at=T0 + DAY)
    later = complaint(ctx, "E-3", T0 + 2 * DAY)
    fresh = complaint(ctx, "E-4", T0 + 2 * DAY)
    before = recorded_rows(ctx)
    assert refusal(lambda: buy(ctx, "S-2", [MUG], vouchers=(sorry, "NO-SUCH", bobs),
                               at=T0 + 3 * DAY)) == [
        (sorry, "used"), ("NO-SUCH", "unknown"), (bobs, "other_member")]
    assert refusal(lambda: buy(ctx, "S-3", [MUG], vouchers=(fresh, fresh),
                               at=T0 + 3 * DAY)) == [(fresh, "listed_twice")]
    assert refusal(lambda: buy(ctx, "S-4", [MUG], vouchers=(later,),
                               at=T0 + DAY)) == [(later, "not_yet_granted")]
    assert refusal(lambda: buy(ctx, "S-5", [MUG], vouchers=(later,),
                               at=T0 + 2 * DAY + 90 * DAY)) == [(later, "expired")]
    assert recorded_rows(ctx) == before
    assert reward_row(ctx, fresh).status == reward_row(ctx, later).status == "held"
    assert verify_ledger(ctx) == []


def test_the_same_purchase_sent_again_answers_the_same_and_uses_the_voucher_once(
        ctx: ServiceContext, member: str) -> None:
    sorry = complaint(ctx, "E-1", T0)
    first = buy(ctx, "S-1", [MUG], vouchers=(sorry,), at=T0 + DAY)
    before = recorded_rows(ctx)
    assert buy(ctx, "S-1", [MUG], vouchers=(sorry,), at=T0 + DAY) == first
    assert recorded_rows(ctx) == before
    assert reward_row(ctx, sorry).used_transaction_id == "S-1"


def test_two_tills_presenting_the_same_voucher_at_once_exactly_one_wins(
        ctx: ServiceContext, member: str) -> None:
    sorry = complaint(ctx, "E-1", T0)
    barrier = threading.Barrier(2)
    won: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def till(tx_id: str) -> None:
        barrier.wait()
        try:
            buy(ctx, tx_id, [MUG], vouchers=(sorry,), at=T0 + DAY)
            won.append(tx_id)
        except VoucherRefused as error:
            refused.append(error.details["vouchers"][0]["reason"])
        except BaseException as error:  # reported below
            errors.append(error)

    tills = [threading.Thread(target=till, args=(tx_id,)) for tx_id in ("S-A", "S-B")]
    for thread in tills:
        thread.start()
    for thread in tills:
        thread.join(60)
    assert (len(won), refused, errors) == (1, ["used"], [])
    assert reward_row(ctx, sorry).used_transaction_id == won[0]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(t.transactions.c.transaction_id)).scalars().all() == won
    assert verify_ledger(ctx) == []


def test_returning_the_refrigerator_revokes_the_unused_ice_maker_and_gives_back_its_stock(
        ctx: ServiceContext, member: str) -> None:
    sale = buy(ctx, "S-1", [FRIDGE, FILTERS])
    ice, basket = gift(sale, "ICE-MAKER"), gift(sale, "WELCOME-VOUCHER")
    assert stock_taken(ctx, "ICE-MAKER") == 1
    body = give_back(ctx, "R-1", "S-1", [("FRIDGE-300", 1)], at=T0 + DAY).body
    assert body["rewards_taken_back"] == [{"reward_id": "ICE-MAKER", "voucher_code": ice,
                                           "quantity": 1, "rule_id": "fridge-ice-maker"}]
    assert body["rewards_kept"] == []
    row = reward_row(ctx, ice)
    assert (row.status, row.revoked_by, row.revoked_at) == ("revoked", "R-1", T0 + DAY)
    assert stock_taken(ctx, "ICE-MAKER") == 0
    shared = SharedCounters(ctx.engine)  # the stock a replay counts, as it stood at an instant
    assert [shared.stock("ICE-MAKER", T0 + hours * DAY / 24) for hours in (1, 25)] == [1, 0]
    assert held_codes(ctx) == [basket]  # the filters are still bought: the basket's stays
    assert refusal(lambda: buy(ctx, "S-2", [MUG], vouchers=(ice,), at=T0 + 2 * DAY)) == [
        (ice, "revoked")]
    assert verify_ledger(ctx) == []


def test_returning_other_lines_keeps_the_ice_maker_and_the_last_return_takes_back_the_rest(
        ctx: ServiceContext, member: str) -> None:
    sale = buy(ctx, "S-1", [FRIDGE, FILTERS])
    ice, basket = gift(sale, "ICE-MAKER"), gift(sale, "WELCOME-VOUCHER")
    first = give_back(ctx, "R-1", "S-1", [("FILTER-1", 2)], at=T0 + DAY).body
    assert (first["rewards_taken_back"], first["rewards_kept"]) == ([], [])
    assert sorted(held_codes(ctx)) == sorted([ice, basket])
    last = give_back(ctx, "R-2", "S-1", [("FRIDGE-300", 1)], at=T0 + 2 * DAY).body
    assert [r["reward_id"] for r in last["rewards_taken_back"]] == [
        "ICE-MAKER", "WELCOME-VOUCHER"]
    assert held_codes(ctx) == []
    assert verify_ledger(ctx) == []


def test_a_used_ice_maker_is_kept_after_the_return_shown_on_the_receipt_and_reported(
        ctx: ServiceContext, member: str) -> None:
    ice = gift(buy(ctx, "S-1", [FRIDGE, FILTERS]), "ICE-MAKER")
    buy(ctx, "S-2", [MUG], vouchers=(ice,), at=T0 + DAY)
    body = give_back(ctx, "R-1", "S-1", [("FRIDGE-300", 1)], at=T0 + 2 * DAY).body
    assert body["rewards_kept"] == [{"reward_id": "ICE-MAKER", "voucher_code": ice,
                                     "quantity": 1, "rule_id": "fridge-ice-maker",
                                     "used_by": "S-2"}]
    assert body["rewards_taken_back"] == []
    row = reward_row(ctx, ice)
    assert (row.status, row.kept_by, row.kept_at) == ("used", "R-1", T0 + 2 * DAY)
    assert stock_taken(ctx, "ICE-MAKER") == 1  # the ice maker left the shop
    report = reports.returned_rewards(ctx)
    assert report["totals"] == [{"reward_id": "ICE-MAKER", "revoked": 0, "kept": 1}]
    assert [(r["outcome"], r["purchase_id"], r["return_id"], r["used_by"])
            for r in report["rewards"]] == [("kept", "S-1", "R-1", "S-2")]
    assert verify_ledger(ctx) == []


def scenario(ctx: ServiceContext) -> None:
    """Vouchers granted, presented, used, revoked and kept, by two members."""
    enrol(ctx, "M-2002", email="bob@example.com")
    sorry = complaint(ctx, "E-1", T0)
    first = buy(ctx, "S-1", [FRIDGE, FILTERS], at=T0 + DAY)
    buy(ctx, "S-2", [MUG], vouchers=(sorry, gift(first, "ICE-MAKER")), at=T0 + 2 * DAY)
    give_back(ctx, "R-1", "S-1", [("FRIDGE-300", 1)], at=T0 + 3 * DAY)
    bobs = buy(ctx, "S-3", [FRIDGE, MUG], at=T0 + DAY, member_id="M-2002")
    give_back(ctx, "R-2", "S-3", [("FRIDGE-300", 1)], at=T0 + 3 * DAY, member_id="M-2002")
    buy(ctx, "S-4", [MUG], vouchers=(gift(bobs, "WELCOME-VOUCHER"),), at=T0 + 4 * DAY,
        member_id="M-2002")


def test_a_replay_of_the_history_uses_the_same_vouchers_and_takes_back_the_same_rewards(
        ctx: ServiceContext, member: str) -> None:
    scenario(ctx)
    assert verify_ledger(ctx) == []
    state, book = MemoryState(), ctx.book()
    steps = list(replay(HistoryReader(ctx.engine), lambda item: book, state))
    assert {s.item.version for s in steps} == {book.version}
    assert [s.refused for s in steps] == [None] * len(steps)
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(t.member_rewards)).all()
        codes = replay_codes(conn, [row.voucher_code for row in rows])
    for row in rows:
        held = state.rewards[codes[row.voucher_code]]
        assert (held.status, held.used_by, held.revoked_by, held.kept_by) == (
            row.status, row.used_transaction_id, row.revoked_by, row.kept_by), row
    assert {row.status for row in rows} == {"used", "revoked", "held"}
    assert any(row.kept_by for row in rows)


def test_a_backtest_of_the_rules_in_force_reproduces_what_vouchers_and_returns_recorded(
        ctx: ServiceContext, member: str) -> None:
    scenario(ctx)
    files = {**read_rule_dir(RULES_DIR), "apology.yaml": APOLOGY}
    report = backtest(ctx, files, start=datetime(2020, 1, 1, tzinfo=UTC), end=T0 + 10 * DAY)
    assert report["replay_check"]["differences"] == 0, report["replay_check"]
    assert report["differing_decisions"] == 0


def test_explain_sees_the_vouchers_a_purchase_would_present(
        ctx: ServiceContext, member: str) -> None:
    sorry = complaint(ctx, "E-1", T0)
    cmd = RecordTransaction(
        transaction_id="X-1", type="purchase", member_id="M-1001", occurred_at=T0 + DAY,
        fingerprint="", lines=(LineIn("MUG-1", 1, "homeware", Decimal("20.00")),),
        currency="CNY",        vouchers=(sorry,))
    result = explain(ctx, "M-1001", cmd)
    assert "apology-bonus" in [d["rule_id"] for d in result["decisions"]]
    assert reward_row(ctx, sorry).status == "held"
