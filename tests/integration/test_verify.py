"""`loyalty ledger verify` finds every kind of drift a tampered database can show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, text, update

from loyalty.cli import main
from loyalty.domain.commands import RecordEvent
from loyalty.services import events
from loyalty.services.context import ServiceContext
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from tests.conftest import on_postgres
from tests.integration.helpers import T0, enrol, fingerprint, give_back, purchase, redeem

FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
FILTERS = ("FILTER-1", "accessories", 2, "49.50")


@pytest.fixture
def history(ctx: ServiceContext) -> ServiceContext:
    """A member who bought, returned part, complained and redeemed: a consistent ledger."""
    ctx.clock = lambda: T0
    enrol(ctx)
    purchase(ctx, "S-1", [FRIDGE, FILTERS], at=T0 - timedelta(days=60))
    give_back(ctx, "R-1", "S-1", [("FILTER-1", 1)], at=T0 - timedelta(days=50))
    events.record_event(ctx, RecordEvent(
        event_id="E-1", type="visit", member_id="M-1001", occurred_at=T0,
        fingerprint=fingerprint(e="E-1")))
    assert redeem(ctx, "RD-1", "FREE-CHECKUP").status == 201
    assert verify_ledger(ctx) == []
    return ctx


def tamper(ctx: ServiceContext, statement: Any) -> None:
    with ctx.uow() as uow:
        uow.connection.execute(statement)
        uow.commit()


TAMPERING: dict[str, tuple[Callable[[], Any], list[str]]] = {
    "return clawback": (lambda: update(t.transactions).where(
        t.transactions.c.transaction_id == "R-1").values(points_clawed_back=1),
        ["return R-1: clawed back 1 but its entries take 49",
         "purchase S-1: clawed back 49 but its returns clawed back 1"]),
    "purchase clawback": (lambda: update(t.transactions).where(
        t.transactions.c.transaction_id == "S-1").values(points_clawed_back=0),
        ["purchase S-1: clawed back 0 but its returns clawed back 49"]),
    "redemption cost": (lambda: update(t.member_rewards).where(
        t.member_rewards.c.source_id == "RD-1").values(points_spent=1),
        ["redemption RD-1 of member M-1001: spent 1 but its entries take 2000"]),
    "event key": (lambda: delete(t.idempotency_keys).where(
        t.idempotency_keys.c.key == "E-1"), ["event E-1 has no idempotency record"]),
    "redemption key": (lambda: delete(t.idempotency_keys).where(
        t.idempotency_keys.c.key == "RD-1"), ["redemption RD-1 has no idempotency record"]),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_verify_reports_tampering(history: ServiceContext, case: str) -> None:
    statement, expected = TAMPERING[case]
    tamper(history, statement())
    assert verify_ledger(history) == expected


@pytest.mark.skipif(on_postgres(), reason="a BIGINT column on PostgreSQL holds whole numbers")
def test_verify_reports_points_that_are_not_whole(history: ServiceContext) -> None:
    tamper(history, text("UPDATE ledger_entries SET points = points + 0.5 "
                         "WHERE entry_id = (SELECT MIN(entry_id) FROM ledger_entries)"))
    assert verify_ledger(history) == [
        "entry 1: points are not whole numbers (100.5)",
        "member M-1001: balances available/pending/debt/lifetime 2149/0/0/4198 but entries sum "
        "to 2149/0.5/0/4198.5",
        "lot 1 of member M-1001 (available): earned 100, remaining 0, entries hold 0.5, "
        "0.5 in the wrong bucket",
    ]


def test_the_command_exits_non_zero_on_a_problem(
    history: ServiceContext, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", database_url)
    consistent = CliRunner().invoke(main, ["ledger", "verify"])
    assert (consistent.exit_code, consistent.stdout) == (
        0, "ledger consistent: balances equal the sum of their entries\n")
    tamper(history, TAMPERING["redemption cost"][0]())
    result = CliRunner().invoke(main, ["ledger", "verify"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "redemption RD-1 of member M-1001: spent 1 but its entries take 2000\n",
        "1 problem(s) found\n")
