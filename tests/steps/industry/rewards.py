"""Steps about what members get: points earned and taken back, gifts and vouchers, offers,
and what they buy with points."""

from __future__ import annotations

from datetime import timedelta

from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select

from loyalty.store import tables as t
from tests.steps.industry.words import NAME, POINTS, count, points
from tests.steps.industry.world import World


def receipt_of(world: World, name: str) -> dict[str, object]:
    receipt = world.last_body
    assert receipt.get("member_id") == world.members[name], receipt
    return receipt


# -- points ------------------------------------------------------------------------------------

@then(parsers.re(rf"{NAME} earns (?P<amount>{POINTS}) points"))
def earns(world: World, name: str, amount: str) -> None:
    receipt = receipt_of(world, name)
    assert receipt["points"]["earned"] == points(amount), receipt  # type: ignore[index]


@then(parsers.re(rf"{NAME} earns no points"))
def earns_nothing(world: World, name: str) -> None:
    receipt = receipt_of(world, name)
    assert receipt["points"]["earned"] == 0, receipt  # type: ignore[index]


@then(parsers.re(rf"{NAME} loses (?P<amount>{POINTS}) points"))
def loses(world: World, name: str, amount: str) -> None:
    receipt = receipt_of(world, name)
    assert receipt["points"]["clawed_back"] == points(amount), receipt  # type: ignore[index]


@then(parsers.re(r'the receipt says "(?P<reason>[^"]+)"'))
def receipt_says(world: World, reason: str) -> None:
    reasons = [d["reason"] for d in world.last_body["decisions"]]
    assert reason in reasons, reasons


@then(parsers.re(r'the receipt does not say "(?P<reason>[^"]+)"'))
def receipt_silent(world: World, reason: str) -> None:
    reasons = [d["reason"] for d in world.last_body["decisions"]]
    assert reason not in reasons, reasons


@then(parsers.re(rf'{NAME}\'s statement shows (?P<amount>{POINTS}) points for '
                 r'"(?P<reason>[^"]+)"'))
def statement_shows(world: World, name: str, amount: str, reason: str) -> None:
    earned = [e["points"] for e in world.ledger(name)
              if e["kind"] == "earn" and e["reason"] == reason]
    assert sum(earned) == points(amount), [(e["reason"], e["points"])
                                           for e in world.ledger(name)]


@then(parsers.re(rf'{NAME}\'s statement shows nothing for "(?P<reason>[^"]+)"'))
def statement_silent(world: World, name: str, reason: str) -> None:
    assert reason not in {e["reason"] for e in world.ledger(name)}


@given(parsers.re(rf"{NAME} has (?P<amount>{POINTS}) points to spend"))
def has_points_given(world: World, name: str, amount: str) -> None:
    """Points put on the member's account by hand, so that a spec can start from a balance."""
    topup = points(amount) - world.available(name)
    if topup:
        response = world.call("POST", f"/members/{world.members[name]}/adjustments", {
            "adjustment_id": world.next_id("ADJ"), "points": topup,
            "reason": "opening balance of the scenario", "occurred_at": world.now.isoformat(),
        }, role="adjust")
        assert response.status_code == 201, world.last_body
    assert world.available(name) == points(amount)


@then(parsers.re(rf"{NAME} has (?P<amount>{POINTS}) points to spend"))
def has_points(world: World, name: str, amount: str) -> None:
    assert world.available(name) == points(amount), world.member(name)["points"]


@then(parsers.re(rf"{NAME} has (?P<amount>{POINTS}) points in all"))
def has_points_in_all(world: World, name: str, amount: str) -> None:
    balance = world.member(name)["points"]
    assert balance["available"] + balance["pending"] == points(amount), balance


# -- gifts and vouchers ------------------------------------------------------------------------

def held(world: World, name: str) -> list[str]:
    return [r["reward_id"] for r in world.held_rewards(name)]


@then(parsers.re(rf'{NAME} (?:receives|gets) "(?P<reward>[^"]+)"'))
def receives(world: World, name: str, reward: str) -> None:
    """The member holds the reward, and the receipt of what just happened (a purchase or an
    event, not a sweep) lists it."""
    assert reward in held(world, name), world.held_rewards(name)
    if world.last_body.get("member_id") == world.members[name]:
        granted = [r["reward_id"] for r in world.last_body["rewards"]]
        assert reward in granted, world.last_body


@then(parsers.re(rf'{NAME} holds "(?P<reward>[^"]+)"'))
def holds(world: World, name: str, reward: str) -> None:
    assert reward in held(world, name), world.held_rewards(name)


@then(parsers.re(rf'{NAME} (?:receives no|does not receive|does not hold|no longer holds) '
                 r'"(?P<reward>[^"]+)"'))
def does_not_hold(world: World, name: str, reward: str) -> None:
    assert reward not in held(world, name), world.held_rewards(name)


@then(parsers.re(rf'{NAME} holds (?P<n>\w+) "(?P<reward>[^"]+)"'))
def holds_many(world: World, name: str, n: str, reward: str) -> None:
    """As many of the reward as said, whether as separate vouchers or one of that quantity."""
    quantity = sum(r["quantity"] for r in world.held_rewards(name) if r["reward_id"] == reward)
    assert quantity == count(n), world.held_rewards(name)


@then(parsers.re(r'"(?P<reward>[^"]+)" (?:is|goes) back (?:in|into) stock'))
def back_in_stock(world: World, reward: str) -> None:
    entry = world.rewards_catalogue()[reward]
    assert entry["stock_remaining"] == entry["stock"], entry


# -- offers ------------------------------------------------------------------------------------

@then(parsers.re(rf'{NAME} is offered "(?P<offer>[^"]+)"'))
def offered(world: World, name: str, offer: str) -> None:
    offers = [o["offer_code"] for o in world.member(name)["offers"]]
    assert offer in offers, offers


@then(parsers.re(rf'{NAME} is not offered "(?P<offer>[^"]+)"'))
def not_offered(world: World, name: str, offer: str) -> None:
    offers = [o["offer_code"] for o in world.member(name)["offers"]]
    assert offer not in offers, offers


# -- buying with points ------------------------------------------------------------------------

@given(parsers.re(rf'{NAME} redeemed (?:(?P<amount>{POINTS}) points|{"(?:her|his|their)"} '
                  r'points) for "(?P<reward>[^"]+)"'))
@when(parsers.re(rf'{NAME} redeems (?:(?P<amount>{POINTS}) points|{"(?:her|his|their)"} '
                 r'points) for "(?P<reward>[^"]+)"'))
def redeems(world: World, name: str, amount: str | None, reward: str) -> None:
    cost = world.rewards_catalogue()[reward]["points_cost"]
    if amount is not None:
        assert cost == points(amount), f"{reward} costs {cost} points"
    world.notes[f"before:{name}"] = (world.available(name), held(world, name))
    world.redeem(name, reward, expect=201 if cost <= world.available(name) else 422)


@then(parsers.re(rf"the redemption is refused and {NAME} keeps {'(?:her|his|their)'} points"))
def redemption_refused(world: World, name: str) -> None:
    assert world.last.status_code == 422, world.last_body
    assert world.last_body["code"] == "insufficient_points", world.last_body
    assert (world.available(name), held(world, name)) == world.notes[f"before:{name}"]


# -- points on the receipt, and when they can be spent ---------------------------------------

@then(parsers.re(rf'the receipt gives (?P<amount>{POINTS}) points for "(?P<reason>[^"]+)"'))
def receipt_gives(world: World, amount: str, reason: str) -> None:
    decisions = world.last_body["decisions"]
    given = sum(d.get("points") or 0 for d in decisions if d["reason"] == reason)
    assert given == points(amount), [(d["reason"], d.get("points")) for d in decisions]


@then(parsers.re(rf"{NAME} can spend those points (?P<days>\d+) days after "
                 r"(?:check-out|the purchase|the shipment)"))
def spendable_after(world: World, name: str, days: str) -> None:
    receipt = receipt_of(world, name)
    before, earned = receipt["balance"]["available"], receipt["points"]["earned"]  # type: ignore[index]
    wait = timedelta(days=int(days))
    on_the_eve = world.member(name, as_of=world.now + wait - timedelta(hours=1))["points"]
    on_the_day = world.member(name, as_of=world.now + wait)["points"]
    assert on_the_eve["available"] == before, on_the_eve
    assert on_the_day["available"] == before + earned, on_the_day


@then(parsers.re(rf'{NAME} (?:still holds|keeps) "(?P<reward>[^"]+)"'))
def still_holds(world: World, name: str, reward: str) -> None:
    assert reward in held(world, name), world.held_rewards(name)


@then(parsers.re(rf'{NAME} is offered "(?P<offer>[^"]+)" just once'))
def offered_once(world: World, name: str, offer: str) -> None:
    offers = [o["offer_code"] for o in world.member(name)["offers"]]
    assert offers.count(offer) == 1, offers


# -- messages the rules send -----------------------------------------------------------------

def messages(world: World, name: str, notification: str) -> int:
    with world.ctx.uow(read_only=True) as uow:
        return int(uow.connection.execute(
            select(func.count()).select_from(t.notifications).where(
                t.notifications.c.member_id == world.members[name],
                t.notifications.c.notification == notification)).scalar_one())


@given(parsers.re(rf'{NAME} is not sent an? "(?P<notification>[^"]+)" message'))
@then(parsers.re(rf'{NAME} is (?P<negation>not )?sent an? "(?P<notification>[^"]+)" message'))
def sent(world: World, name: str, notification: str, negation: str | None = "not ") -> None:
    assert (messages(world, name, notification) == 0) is bool(negation), notification
