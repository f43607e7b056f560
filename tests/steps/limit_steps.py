"""Steps for limits and budgets: real purchases at the till on a real database, the limits
decided by the product."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when
from sqlalchemy import select

from loyalty.domain.commands import RecordEvent
from loyalty.services import events
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from tests.integration.helpers import (
    CHINA,
    SPRING_OFFER,
    enrol,
    fingerprint,
    limited_rule,
    purchase,
    spring_campaign,
    use_rules,
)

FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
KETTLE = ("KETTLE-1", "small-kitchen", 1, "100.00")
SPRING_RULES = {"spring-a", "spring-b"}


@dataclass
class Shop:
    """The rules marketing added, the members, and the receipts of this scenario."""

    ctx: ServiceContext
    rules: dict[str, str] = field(default_factory=dict)
    activated: bool = False
    members: dict[str, str] = field(default_factory=dict)
    receipts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    now: datetime = datetime(2027, 3, 1, 10, tzinfo=CHINA)

    def at(self, moment: datetime) -> None:
        self.now = moment
        self.ctx.clock = lambda: moment

    def member_id(self, name: str) -> str:
        if not self.activated:
            self.at(self.now)
            use_rules(self.ctx, **self.rules)
            self.activated = True
        if name not in self.members:
            self.members[name] = f"M-{name.upper()}"
            enrol(self.ctx, self.members[name])
        return self.members[name]

    def buy(self, name: str, line: tuple[str, str, int, str], moment: datetime | None = None,
            offer_codes: tuple[str, ...] = ()) -> dict[str, Any]:
        member_id = self.member_id(name)
        self.at(moment or self.now + timedelta(minutes=1))
        tx_id = f"S-{len(self.receipts) + 1}"
        body: dict[str, Any] = purchase(self.ctx, tx_id, [line], member_id=member_id,
                                        at=self.now, offer_codes=offer_codes).body
        self.receipts.append((name, body))
        return body


@pytest.fixture
def shop(ctx: ServiceContext) -> Shop:
    return Shop(ctx)


def points_from(body: dict[str, Any], rules: set[str]) -> int:
    return sum(d.get("points") or 0 for d in body["decisions"] if d["rule_id"] in rules)


@given(parsers.parse("{name} is a member"))
def a_member(shop: Shop, name: str) -> None:
    shop.member_id(name)


@given(parsers.parse("marketing gives {points:d} points once per member on a first purchase"))
def first_purchase_bonus(shop: Shop, points: int) -> None:
    shop.rules["first"] = limited_rule("first-purchase", "{times: 1, per: ever}", points)


@given(parsers.parse(
    'the campaign "spring" may give {budget:d} points in all, 150 on every purchase'))
def spring(shop: Shop, budget: int) -> None:
    shop.rules["spring"] = spring_campaign(budget)


@given("the campaign offers 200 bonus points on the next purchase for answering a survey")
def spring_offer(shop: Shop) -> None:
    shop.rules["spring_survey"] = SPRING_OFFER


@when(parsers.parse("{name} buys a refrigerator on {day}"))
def buys_fridge(shop: Shop, name: str, day: str) -> None:
    shop.buy(name, FRIDGE, datetime.fromisoformat(day).replace(hour=15, tzinfo=CHINA))


@when(parsers.parse("{name} buys a kettle with the survey offer"))
def buys_kettle_with_offer(shop: Shop, name: str) -> None:
    shop.buy(name, KETTLE, offer_codes=("SPRING-200",))


@when(parsers.parse("{name} buys a kettle"))
def buys_kettle(shop: Shop, name: str) -> None:
    shop.buy(name, KETTLE)


@when(parsers.parse("{name} answers a survey"))
def answers_survey(shop: Shop, name: str) -> None:
    member_id = shop.member_id(name)
    shop.at(shop.now + timedelta(minutes=1))
    events.record_event(shop.ctx, RecordEvent(
        event_id=f"E-{name}", type="survey", member_id=member_id, occurred_at=shop.now,
        fingerprint=fingerprint(e=name)))


@then(parsers.parse("{name} has been given {count:d} ice makers"))
def ice_makers(shop: Shop, name: str, count: int) -> None:
    gifts = [r for who, body in shop.receipts if who == name for r in body["rewards"]
             if r["reward_id"] == "ICE-MAKER"]
    assert len(gifts) == count
    m = t.member_rewards.c
    with shop.ctx.uow(read_only=True) as uow:
        held = uow.connection.execute(select(m.voucher_code).where(
            m.member_id == shop.members[name], m.reward_id == "ICE-MAKER")).scalars().all()
    assert sorted(held) == sorted(r["voucher_code"] for r in gifts)


@then(parsers.parse("{name} earned the first-purchase bonus once"))
def bonus_once(shop: Shop, name: str) -> None:
    given = [points_from(body, {"first-purchase"}) for who, body in shop.receipts if who == name]
    assert sorted(given, reverse=True) == [500] + [0] * (len(given) - 1)


@then(parsers.parse(
    "the campaign has given {points:d} points on {count:d} of the {total:d} purchases"))
def campaign_given_on(shop: Shop, points: int, count: int, total: int) -> None:
    given = [points_from(body, SPRING_RULES) for _, body in shop.receipts]
    assert len(given) == total
    assert given == [150] * count + [0] * (total - count)
    assert spent(shop) == points


@then(parsers.parse("{name} earns {points:d} points from the campaign on that purchase"))
def earns_from_campaign(shop: Shop, name: str, points: int) -> None:
    who, body = shop.receipts[-1]
    offered = sum(o["points"] for o in body["offers"] if o["offer_code"] == "SPRING-200")
    assert who == name and points_from(body, SPRING_RULES) + offered == points


@then(parsers.parse("{name} earns no points from the campaign on that purchase"))
def earns_nothing_from_campaign(shop: Shop, name: str) -> None:
    who, body = shop.receipts[-1]
    assert who == name and points_from(body, SPRING_RULES) == 0 and body["offers"] == []


@then(parsers.parse("the campaign has given {points:d} points in all"))
def campaign_total(shop: Shop, points: int) -> None:
    assert spent(shop) == points


def spent(shop: Shop) -> int:
    b = t.rule_budgets.c
    with shop.ctx.uow(read_only=True) as uow:
        value = uow.connection.execute(
            select(b.points_used).where(b.rule_id == "campaign:spring")).scalar()
    return int(value or 0)
