"""Steps about lifecycle stages: where a member stands, and what their purchase meant."""

from __future__ import annotations

from pytest_bdd import parsers, then
from sqlalchemy import select

from loyalty.domain.policy import LIFECYCLE_STAGES
from loyalty.store import tables as t
from tests.steps.programme_steps import World


@then(parsers.re(rf"(?P<name>[A-Z][a-z]+) counts as (?P<stage>{'|'.join(LIFECYCLE_STAGES)})$"))
def counts_as(world: World, name: str, stage: str) -> None:
    assert world.member(name)["lifecycle_stage"] == stage, world.member(name)


@then(parsers.parse("{name} has received no win-back offer"))
def no_winback_offer(world: World, name: str) -> None:
    with world.ctx.uow(read_only=True) as uow:
        received = uow.connection.execute(select(t.offers.c.offer_code).where(
            t.offers.c.member_id == world.members[name])).scalars().all()
    assert received == [], received


@then(parsers.parse("the receipt does not welcome {name} back"))
def not_welcomed_back(world: World, name: str) -> None:
    receipt = world.last_body
    assert receipt["member_id"] == world.members[name], receipt
    assert "welcome-back" not in [d["rule_id"] for d in receipt["decisions"]], receipt
    with world.ctx.uow(read_only=True) as uow:
        sent = uow.connection.execute(select(t.notifications.c.notification).where(
            t.notifications.c.member_id == world.members[name])).scalars().all()
    assert "welcome-back" not in sent, sent
