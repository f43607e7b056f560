"""Steps about tiers and VIPs: reaching a tier at the till, requalification, warnings, the top
of the pyramid and its privileges."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select

from loyalty.engine import read_rule_dir
from loyalty.services.rules import activate
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.steps.programme_steps import CHINA, World

RETENTION = """\
ruleset: retention
description: Keep members in their tier.
on: [downgrade_notice]
rules:
  - id: keep-your-tier
    description: Spend a little more to keep your tier
    when:
      - {{fact: event.attributes.tier, in: [silver, gold, platinum]}}
    then:
      - notify: {{notification: downgrade-warning, message: "Your tier is under review."}}
      - issue_offer: {{offer: {code}, benefit: bonus_points, value: 300, valid_days: 30}}
"""


def gift_card(amount: str) -> dict[str, Any]:
    return {"sku": "GIFT-CARD", "category": "gift-cards", "quantity": 1, "unit_price": amount}


def join(world: World, name: str) -> None:
    response = world.post("/api/v1/members", {
        "name": name, "email": f"{name.lower()}@example.com",
        "enrolled_at": (world.now - timedelta(days=800)).isoformat(),
    })
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


def rows(world: World, table: Any, name: str, *conditions: Any) -> list[Any]:
    with world.ctx.uow(read_only=True) as uow:
        return list(uow.connection.execute(select(table).where(
            table.c.member_id == world.members[name], *conditions)).all())


@given(parsers.parse('the programme warns members about to drop a tier and offers them "{code}"'))
def retention_rules(world: World, code: str) -> None:
    files = read_rule_dir(RULES_DIR)
    files["retention.yaml"] = RETENTION.format(code=code)
    activate(world.ctx, files, "marketing", reason="spec")


@given(parsers.parse("{name} became a {tier} member on {day} by spending {amount}"))
def became(world: World, name: str, tier: str, day: str, amount: str) -> None:
    world.now = datetime.strptime(f"{day} 14:03", "%d %B %Y %H:%M").replace(tzinfo=CHINA)
    join(world, name)
    world.purchase(name, [gift_card(amount)])
    assert world.member(name)["tier"] == tier


@given(parsers.parse("{name} is a member marked as a VIP"))
def marked_vip(world: World, name: str) -> None:
    response = world.post("/api/v1/members", {
        "name": name, "email": f"{name.lower()}@example.com", "tags": ["vip"],
        "enrolled_at": (world.now - timedelta(days=800)).isoformat(),
    })
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@given(parsers.parse("{name} is a platinum member who spent {amount} this year"))
def platinum_spender(world: World, name: str, amount: str) -> None:
    join(world, name)
    world.purchase(name, [gift_card(amount)])
    assert world.member(name)["tier"] == "platinum"


@given(parsers.parse("{count:d} other platinum members spent {amount} each this year"))
def other_platinum(world: World, count: int, amount: str) -> None:
    for number in range(count):
        platinum_spender(world, f"Other{number:03d}", amount)


@when(parsers.parse("{name} buys a gift card for {amount}"))
def buys_gift_card(world: World, name: str, amount: str) -> None:
    world.purchase(name, [gift_card(amount)])


@then(parsers.parse("the receipt says {name} has reached {tier}"))
def receipt_tier(world: World, name: str, tier: str) -> None:
    assert world.last_body["member_id"] == world.members[name], world.last_body
    assert world.last_body["tier"]["after"] == tier, world.last_body["tier"]
    assert world.last_body["tier"]["changed"] is True


@then(parsers.parse("{name} is a {tier} member"))
@then(parsers.parse("{name} is still a {tier} member"))
def holds_tier(world: World, name: str, tier: str) -> None:
    assert world.member(name)["tier"] == tier


@then(parsers.parse('{name}\'s tier history records the move from {old} to {new} with the '
                    'reason "{reason}"'))
def tier_history(world: World, name: str, old: str, new: str, reason: str) -> None:
    history = sorted(rows(world, t.tier_history, name), key=lambda h: h.id)
    moves = [(h.from_tier, h.to_tier) for h in history]
    assert moves.count((old, new)) == 1 and moves[-1] == (old, new), moves
    assert reason in history[-1].reason, history[-1].reason


def warnings(world: World, name: str) -> int:
    return len(rows(world, t.notifications, name,
                    t.notifications.c.notification == "downgrade-warning"))


@then(parsers.parse("{name} has not been warned"))
def not_warned(world: World, name: str) -> None:
    assert warnings(world, name) == 0


@then(parsers.parse("{name} has been warned once"))
def warned_once(world: World, name: str) -> None:
    assert warnings(world, name) == 1


def privilege_names(member: dict[str, Any]) -> list[str]:
    return [p["privilege"] for p in member["privileges"]]


@then(parsers.parse("{name} is a VIP with {privilege}"))
def is_vip(world: World, name: str, privilege: str) -> None:
    member = world.member(name)
    assert member["vip"] is True
    assert privilege.replace(" ", "-") in privilege_names(member), member["privileges"]


@then(parsers.parse("{name} is not a VIP"))
def not_vip(world: World, name: str) -> None:
    assert world.member(name)["vip"] is False


@then(parsers.parse("{name} has been welcomed as a VIP just once"))
def welcomed_once(world: World, name: str) -> None:
    """Every joining or leaving raises vip_changed: one in all is the welcome, and no leaving."""
    prefix = f"vip_changed:{world.members[name]}:"
    with world.ctx.uow(read_only=True) as uow:
        keys = uow.connection.execute(select(t.idempotency_keys.c.key).where(
            t.idempotency_keys.c.scope == "sweep",
            t.idempotency_keys.c.key.startswith(prefix))).scalars().all()
    assert len(keys) == 1, keys


@then(parsers.parse("{name} is no longer a VIP and has lost {privilege}"))
def no_longer_vip(world: World, name: str, privilege: str) -> None:
    member = world.member(name)
    assert member["vip"] is False
    assert privilege.replace(" ", "-") not in privilege_names(member), member["privileges"]
    with world.ctx.uow(read_only=True) as uow:
        vip_since = uow.connection.execute(select(func.max(t.members.c.vip_since)).where(
            t.members.c.member_id == world.members[name])).scalar()
    assert vip_since is None
