"""One member's points through the real services, step by step, against a small model of lots
and debt: purchases, partial and full returns, redemptions, replays, refused requests and the
clock moving across the return window and the expiry.

The model knows only the ledger's stated rules: a purchase earns one lot (1 point per 1 CNY)
that is pending for 14 days and expires a month after it was earned, and repays any debt first;
redemptions take available points soonest-expiring first; a return takes back the value
returned from pending points (the returned sale's own first) and then available ones, and what
it cannot find becomes a debt.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from dateutil.relativedelta import relativedelta
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select, text

from loyalty import create_app
from loyalty.domain.errors import InsufficientPoints, ReturnExceedsPurchase, UnknownTransaction
from loyalty.engine import read_rule_dir
from loyalty.services.context import ServiceContext
from loyalty.services.rules import activate
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.tables import metadata
from tests.conftest import RULES_DIR, Reliability, on_postgres
from tests.integration.helpers import T0, enrol, give_back, points, purchase, redeem

MEMBER = "M-1001"
PENDING_DAYS = 14
EXPIRY_MONTHS = 1
REWARD = "MUG"
COST = 100  # points one MUG costs
SKUS = ("KETTLE", "TOASTER", "LAMP", "RUG")
ONE_MICROSECOND = timedelta(microseconds=1)

EARNING = """
ruleset: earning
description: Points for purchases.
on: [purchase]
rules:
  - id: base-earn
    description: 1 point for every 1 CNY spent
    priority: 10
    then:
      - award_points: {per_currency_unit: 1}
"""
CATALOGUE = f"""
rewards:
  - id: {REWARD}
    name: Branded mug
    kind: product
    points_cost: {COST}
    description: A mug bought with points
"""


def rule_files() -> dict[str, str]:
    """The bundled program.yaml with a one-month expiry, one earning rule, one reward."""
    program = read_rule_dir(RULES_DIR)["program.yaml"]
    for setting in (f"pending_days: {PENDING_DAYS}", "expiry: months_after_earning",
                    "shortfall: debt", "expiry_months: 24"):
        assert setting in program, setting
    program = program.replace("expiry_months: 24", f"expiry_months: {EXPIRY_MONTHS}")
    return {"program.yaml": program, "earning.yaml": EARNING, "rewards.yaml": CATALOGUE}


def empty_tables(engine: Engine) -> None:
    """Empty the shared PostgreSQL database, as the `database_url` fixture does per test."""
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@dataclass
class ModelLot:
    """The points one purchase earned, as the model sees them."""

    sale: str
    order: int
    pending_until: datetime
    expires_at: datetime
    remaining: int
    available: bool = False


@dataclass
class Sale:
    sale_id: str
    at: datetime
    lines: list[tuple[str, str, int, str]]
    receipt: dict[str, Any]
    returned: dict[str, int] = field(default_factory=dict)

    def left(self) -> dict[str, int]:
        """Units of each SKU not yet returned."""
        return {sku: quantity - self.returned.get(sku, 0) for sku, _, quantity, _ in self.lines
                if quantity > self.returned.get(sku, 0)}

    def value(self, units: dict[str, int]) -> int:
        prices = {sku: int(price) for sku, _, _, price in self.lines}
        return sum(prices[sku] * quantity for sku, quantity in units.items())


@dataclass
class Model:
    """Lots and a debt counter, kept settled as of the clock."""

    lots: list[ModelLot] = field(default_factory=list)
    debt: int = 0
    lifetime: int = 0

    @property
    def available(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.available)

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots if not lot.available)

    def balances(self) -> dict[str, int]:
        return {"available": self.available, "pending": self.pending, "debt": self.debt}

    def becoming_available(self) -> list[dict[str, Any]]:
        """Pending points by the instant they become available, soonest first."""
        by_instant: dict[datetime, int] = {}
        for lot in self.lots:
            if not lot.available and lot.remaining:
                by_instant[lot.pending_until] = by_instant.get(lot.pending_until, 0) + lot.remaining
        return [{"available_at": at.astimezone(UTC).isoformat(), "points": points}
                for at, points in sorted(by_instant.items())][:10]

    def shown(self) -> dict[str, Any]:
        """What a receipt's balance should say: the balances, and when pending points come."""
        return {**self.balances(), "becoming_available": self.becoming_available()}

    def settle(self, now: datetime) -> None:
        for lot in self.lots:
            if lot.pending_until <= now:
                lot.available = True
            if lot.expires_at <= now:
                lot.remaining = 0

    def earn(self, sale: str, points: int, at: datetime) -> None:
        repaid = min(self.debt, points)
        self.debt -= repaid
        self.lifetime += points
        self.lots.append(ModelLot(sale, len(self.lots), at + timedelta(days=PENDING_DAYS),
                                  at + relativedelta(months=EXPIRY_MONTHS), points - repaid))

    def spend(self, points: int) -> None:
        for lot in sorted(self.lots, key=lambda lot: (lot.expires_at, lot.order)):
            if lot.available:
                taken = min(points, lot.remaining)
                lot.remaining -= taken
                points -= taken
        assert points == 0

    def claw_back(self, points: int, sale: str) -> None:
        def order(lot: ModelLot) -> tuple[bool, bool, datetime, int]:
            return lot.available, lot.sale != sale, lot.expires_at, lot.order

        for lot in sorted(self.lots, key=order):
            taken = min(points, lot.remaining)
            lot.remaining -= taken
            points -= taken
        self.debt += points


def pick(balance: dict[str, Any]) -> dict[str, Any]:
    """The parts of a receipt's balance the model keeps (expiries are checked elsewhere)."""
    return {key: balance[key] for key in ("available", "pending", "debt", "becoming_available")}


class LedgerMachine(RuleBasedStateMachine):
    """Drives the services for one member and compares them with `Model` after every step."""

    template: str  # the migrated database (`_template_db`): copied, or emptied on PostgreSQL
    directory: Path  # where the SQLite copies go
    steps = 0  # steps checked against the model, over every history (the reliability report)

    def __init__(self) -> None:
        super().__init__()
        self.files: list[Path] = []
        url = self.template
        if not on_postgres():
            target = self.directory / f"model-{uuid4().hex}.db"
            shutil.copyfile(self.template, target)
            self.files = [target]
            url = f"sqlite:///{target}"
        self.app: Flask = create_app({"database_url": url, "rules_dir": str(RULES_DIR),
                                      "rules_refresh_seconds": 0.0, "key_cache_seconds": 0.0,
                                      "sqlite_background_checkpoints": False})
        self.ctx: ServiceContext = self.app.extensions["loyalty"]
        if on_postgres():
            empty_tables(self.ctx.engine)
        self.now = T0
        self.ctx.clock = lambda: self.now
        activate(self.ctx, rule_files(), activated_by="test", reason="test")
        self.ctx.rules.invalidate()
        enrol(self.ctx, MEMBER)
        self.model = Model()
        self.sales: list[Sale] = []
        self.ids = 0
        self.checked = -1  # the invariants run once before the first step

    def teardown(self) -> None:
        type(self).steps += self.checked
        self.ctx.engine.dispose()
        for target in self.files:
            for path in target.parent.glob(f"{target.name}*"):
                path.unlink()

    def next_id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}-{self.ids}"

    def with_units_left(self) -> list[Sale]:
        return [sale for sale in self.sales if sale.left()]

    def snapshot(self) -> tuple[Any, ...]:
        """Every row a refused request could have touched."""
        lots, lines = t.point_lots.c, t.transaction_lines.c
        with self.ctx.uow(read_only=True) as uow:
            conn = uow.connection
            return (
                conn.execute(select(t.members)).all(),
                conn.execute(select(lots.lot_id, lots.state, lots.remaining)
                             .order_by(lots.lot_id)).all(),
                conn.execute(select(lines.transaction_id, lines.line_no, lines.returned_quantity)
                             .order_by(lines.transaction_id, lines.line_no)).all(),
                *(conn.execute(select(func.count()).select_from(table)).scalar_one()
                  for table in (t.ledger_entries, t.transactions, t.idempotency_keys,
                                t.member_rewards)),
            )

    def returned(self, sale: Sale, units: dict[str, int]) -> None:
        body = give_back(self.ctx, self.next_id("R"), sale.sale_id, sorted(units.items()),
                         member_id=MEMBER, at=self.now).body
        value = sale.value(units)
        self.model.claw_back(value, sale.sale_id)
        for sku, quantity in units.items():
            sale.returned[sku] = sale.returned.get(sku, 0) + quantity
        assert body["points"]["clawed_back"] == value
        assert pick(body["balance"]) == self.model.shown()

    @rule(lines=st.lists(
        st.tuples(st.sampled_from(SKUS), st.integers(1, 3), st.integers(1, 400)),
        min_size=1, max_size=3, unique_by=lambda line: line[0]))
    def buy(self, lines: list[tuple[str, int, int]]) -> None:
        sale_id = self.next_id("S")
        till = [(sku, "homeware", quantity, str(price)) for sku, quantity, price in lines]
        recorded = purchase(self.ctx, sale_id, till, member_id=MEMBER, at=self.now)
        total = sum(quantity * price for _, quantity, price in lines)
        self.model.earn(sale_id, total, self.now)
        self.sales.append(Sale(sale_id, self.now, till, recorded.body))
        assert recorded.status == 201
        assert recorded.body["points"] == {"earned": total, "pending": total, "clawed_back": 0}
        assert pick(recorded.body["balance"]) == self.model.shown()

    @precondition(lambda self: any(sum(s.left().values()) >= 2 for s in self.sales))
    @rule(data=st.data())
    def return_some_lines(self, data: st.DataObject) -> None:
        sale = data.draw(st.sampled_from(
            [s for s in self.sales if sum(s.left().values()) >= 2]))
        units = [sku for sku, quantity in sorted(sale.left().items()) for _ in range(quantity)]
        picked = data.draw(st.lists(st.integers(0, len(units) - 1), min_size=1,
                                    max_size=len(units) - 1, unique=True))
        taken: dict[str, int] = {}
        for index in picked:
            taken[units[index]] = taken.get(units[index], 0) + 1
        self.returned(sale, taken)

    @precondition(lambda self: bool(self.with_units_left()))
    @rule(data=st.data())
    def return_the_rest(self, data: st.DataObject) -> None:
        sale = data.draw(st.sampled_from(self.with_units_left()))
        self.returned(sale, sale.left())

    @precondition(lambda self: self.model.available >= COST)
    @rule(data=st.data())
    def redeem_the_reward(self, data: st.DataObject) -> None:
        quantity = data.draw(st.integers(1, min(3, self.model.available // COST)))
        body = redeem(self.ctx, self.next_id("RD"), REWARD, quantity, member_id=MEMBER).body
        self.model.spend(quantity * COST)
        assert body["points_spent"] == quantity * COST
        assert pick(body["balance"]) == self.model.shown()

    @rule()
    def redeem_beyond_the_available_points(self) -> None:
        quantity = self.model.available // COST + 1
        before = self.snapshot()
        with pytest.raises(InsufficientPoints) as refused:
            redeem(self.ctx, self.next_id("RD"), REWARD, quantity, member_id=MEMBER)
        assert refused.value.details == {"required": quantity * COST,
                                         "available": self.model.available}
        assert self.snapshot() == before

    @rule(days=st.integers(1, 20), hours=st.sampled_from([0, 0, 5]))
    def time_passes(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)
        self.model.settle(self.now)

    @precondition(lambda self: any(lot.remaining and lot.expires_at > self.now
                                   for lot in self.model.lots))
    @rule(data=st.data(), offset=st.sampled_from([-ONE_MICROSECOND, timedelta(0),
                                                  ONE_MICROSECOND]))
    def time_reaches_a_lot_boundary(self, data: st.DataObject, offset: timedelta) -> None:
        """The clock moves to just before, at or just after a lot's activation or expiry."""
        boundaries = sorted({instant for lot in self.model.lots if lot.remaining
                             for instant in (lot.pending_until, lot.expires_at)
                             if instant > self.now})
        self.now = max(self.now, data.draw(st.sampled_from(boundaries)) + offset)
        self.model.settle(self.now)

    @precondition(lambda self: bool(self.sales))
    @rule(data=st.data())
    def replay_a_purchase(self, data: st.DataObject) -> None:
        sale = data.draw(st.sampled_from(self.sales))
        before = self.snapshot()
        again = purchase(self.ctx, sale.sale_id, sale.lines, member_id=MEMBER, at=sale.at)
        assert again.replayed and again.status == 201
        assert again.body == sale.receipt
        assert self.snapshot() == before

    @rule()
    def return_something_never_bought(self) -> None:
        before = self.snapshot()
        with pytest.raises(UnknownTransaction):
            give_back(self.ctx, self.next_id("R"), "S-NEVER", [(SKUS[0], 1)], member_id=MEMBER,
                      at=self.now)
        assert self.snapshot() == before

    @precondition(lambda self: bool(self.sales))
    @rule(data=st.data())
    def return_more_than_is_left(self, data: st.DataObject) -> None:
        sale = data.draw(st.sampled_from(self.sales))
        sku = data.draw(st.sampled_from([line[0] for line in sale.lines]))
        before = self.snapshot()
        with pytest.raises(ReturnExceedsPurchase):
            give_back(self.ctx, self.next_id("R"), sale.sale_id,
                      [(sku, sale.left().get(sku, 0) + 1)], member_id=MEMBER, at=self.now)
        assert self.snapshot() == before

    @invariant()
    def count_the_step(self) -> None:
        """Every step is followed by the invariants: counted for the reliability report."""
        self.checked += 1

    @invariant()
    def balances_match_the_model(self) -> None:
        shown = points(self.ctx, MEMBER, as_of=self.now)
        assert {key: shown[key] for key in ("available", "pending", "debt")} == \
            self.model.balances()
        assert shown["lifetime_earned"] == self.model.lifetime

    @invariant()
    def balances_are_never_negative(self) -> None:
        shown = points(self.ctx, MEMBER, as_of=self.now)
        assert min(shown["available"], shown["pending"], shown["debt"]) >= 0
        stored = self.stored_balances()
        assert min(stored.values()) >= 0

    @invariant()
    def the_ledger_verifies(self) -> None:
        assert verify_ledger(self.ctx) == []

    @invariant()
    def entries_add_up_to_the_stored_balances(self) -> None:
        e = t.ledger_entries.c
        with self.ctx.uow(read_only=True) as uow:
            sums = {bucket: total for bucket, total in uow.connection.execute(
                select(e.bucket, func.sum(e.points)).where(e.member_id == MEMBER)
                .group_by(e.bucket))}
        stored = self.stored_balances()
        assert {bucket: int(sums.get(bucket) or 0) for bucket in stored} == stored

    @invariant()
    def every_lot_holds_what_the_model_says(self) -> None:
        """Each purchase's lot, settled as of the clock, holds what its model lot holds."""
        assert dict(self.lots_as_of_now()) == {
            lot.sale: (lot.pending_until, lot.expires_at,
                       ("available" if lot.available else "pending") if lot.remaining else "",
                       lot.remaining)
            for lot in self.model.lots
        }

    def stored_balances(self) -> dict[str, int]:
        m = t.members.c
        with self.ctx.uow(read_only=True) as uow:
            row = uow.connection.execute(
                select(m.points_available, m.points_pending, m.points_debt)
                .where(m.member_id == MEMBER)).one()
        return {"available": row[0], "pending": row[1], "debt": row[2]}

    def lots_as_of_now(self) -> Iterator[tuple[str, tuple[datetime, datetime, str, int]]]:
        lots = t.point_lots.c
        with self.ctx.uow(read_only=True) as uow:
            rows = uow.connection.execute(
                select(lots.source_id, lots.state, lots.remaining, lots.pending_until,
                       lots.expires_at).where(lots.member_id == MEMBER)).all()
        for source_id, state, remaining, pending_until, expires_at in rows:
            left = 0 if expires_at <= self.now else remaining
            shown = "available" if pending_until <= self.now else state
            yield source_id, (pending_until, expires_at, shown if left else "", left)


def check_against_the_model(template: str, directory: Path, reliability: Reliability,
                            **options: Any) -> None:
    class OnTheTestDatabase(LedgerMachine):
        pass

    OnTheTestDatabase.template, OnTheTestDatabase.directory = template, directory
    run_state_machine_as_test(
        OnTheTestDatabase,
        settings=settings(deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow], **options),
    )
    reliability.record(operations=OnTheTestDatabase.steps)


def test_the_ledger_keeps_to_a_model_of_lots_and_debt(_template_db: str, tmp_path: Path,
                                                      reliability: Reliability) -> None:
    check_against_the_model(_template_db, tmp_path, reliability, max_examples=25,
                            stateful_step_count=25,
                            derandomize=True)


@pytest.mark.slow
def test_the_ledger_keeps_to_a_model_of_lots_and_debt_over_many_histories(
    _template_db: str, tmp_path: Path, reliability: Reliability
) -> None:
    check_against_the_model(_template_db, tmp_path, reliability, max_examples=400,
                            stateful_step_count=50)
