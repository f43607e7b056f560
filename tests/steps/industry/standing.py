"""Steps about a member's standing: tiers, VIP, privileges, lifecycle stages, and time passing
with the daily sweep."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pytest_bdd import given, parsers, then, when

from tests.steps.industry.words import DATE, DAY, NAME, ROLE, birth_date, day_in
from tests.steps.industry.world import World

#: The line a member's earlier spending is recorded with when a spec only says her tier.
EARLIER_SPENDING = {"sku": "EARLIER-SPENDING", "category": "earlier-spending", "quantity": 1}


def ladder(world: World) -> dict[str, Any]:
    tiers: dict[str, Any] = world.pack_file("program.yaml")["tiers"]
    return tiers


def qualify(world: World, name: str, tier: str) -> None:
    """Give the member the spending that reaches `tier` by the ladder's metric, 30 days ago."""
    tiers = ladder(world)
    level = next((lv for lv in tiers["levels"] if lv["tier"] == tier), None)
    assert level is not None, f"{tier} is not on the ladder of {world.rules_dir}"
    if not level["threshold"]:
        return
    metric = str(tiers["metric"])
    with world.earlier(30):
        if "spend" in metric:
            line = {**EARLIER_SPENDING, "unit_price": f"{Decimal(str(level['threshold'])):.2f}"}
            world.purchase(name, [line])
        elif metric.startswith(("visits", "lifetime_visits")):
            for _ in range(int(level["threshold"])):
                world.purchase(name, [{**EARLIER_SPENDING, "unit_price": "1.00"}])
        else:
            raise AssertionError(f"a {metric} tier needs the scenario to build its history")
    assert world.member(name)["tier"] == tier, world.member(name)


@given(parsers.re(rf"{NAME} is an? (?P<tier>[a-z]+(?:-[a-z]+)*) {ROLE}"
                  rf"(?: born on (?P<born>{DATE}))?"))
def in_tier(world: World, name: str, tier: str, born: str | None) -> None:
    world.enrol(name, birth_date=birth_date(born) if born else None)
    qualify(world, name, tier)


@given(parsers.re(rf"{NAME} is a VIP {ROLE}"))
def vip(world: World, name: str) -> None:
    """A member the business marks VIP (the first of program.yaml's `vip.tags`)."""
    tags = world.pack_file("program.yaml")["vip"]["tags"]
    world.enrol(name, tags=[tags[0]])


# -- time passing -----------------------------------------------------------------------------

@given("the daily sweep has run")
@when("the daily sweep runs")
def sweep_now(world: World) -> None:
    world.sweep()


@when(parsers.re(rf"the daily sweep runs on (?P<day>{DAY})"))
def sweep_on(world: World, day: str) -> None:
    instant = day_in(day, world.now.year)
    assert instant >= world.now, f"{day} is before the scenario's now, {world.now:%d %B %Y}"
    world.sweep(instant)


@given(parsers.re(r"(?P<days>\d+) days (?:pass|have passed)(?: without an? [a-z]+)?"))
@when(parsers.re(r"(?P<days>\d+) days pass(?: without an? [a-z]+)?"))
def days_pass(world: World, days: str) -> None:
    """Time passes, and the daily sweep runs on the last day."""
    world.sweep(world.now + timedelta(days=int(days)))


# -- what the member's standing is ------------------------------------------------------------

@then(parsers.re(rf"{NAME} is (?:now |still )?an? (?P<tier>[a-z]+(?:-[a-z]+)*) {ROLE}"))
def is_tier(world: World, name: str, tier: str) -> None:
    assert world.member(name)["tier"] == tier, world.member(name)


@then(parsers.re(rf"{NAME} is (?P<negation>not )?a VIP(?: {ROLE})?"))
def is_vip(world: World, name: str, negation: str | None) -> None:
    assert world.member(name)["vip"] is (not negation), world.member(name)


@then(parsers.re(r"(?P<name>[A-Z][a-z]+) counts as (?P<stage>new|dormant|growing|mature|"
                 r"declining|lapsed|churned)"))
def stage(world: World, name: str, stage: str) -> None:
    assert world.member(name)["lifecycle_stage"] == stage, world.member(name)


def privileges(world: World, name: str) -> dict[str, Any]:
    return {p["privilege"]: p for p in world.member(name)["privileges"]}


@then(parsers.re(rf'{NAME} (?:has|enjoys) the privilege "(?P<privilege>[^"]+)"'
                 r"(?: for (?P<days>\d+) days)?"))
def has_privilege(world: World, name: str, privilege: str, days: str | None) -> None:
    held = privileges(world, name)
    assert privilege in held, held
    until = held[privilege]["valid_until"]
    if days is None:
        return
    assert until is not None, held[privilege]
    ends = datetime.fromisoformat(until)
    assert abs(ends - (world.now + timedelta(days=int(days)))) <= timedelta(days=1), until


@then(parsers.re(rf'{NAME} does not have the privilege "(?P<privilege>[^"]+)"'))
def lacks_privilege(world: World, name: str, privilege: str) -> None:
    assert privilege not in privileges(world, name), privileges(world, name)


@then(parsers.re(rf"the receipt says {NAME} has reached (?P<tier>[a-z]+(?:-[a-z]+)*)"))
def receipt_reached(world: World, name: str, tier: str) -> None:
    receipt = world.last_body
    assert receipt.get("member_id") == world.members[name], receipt
    assert receipt["tier"]["after"] == tier and receipt["tier"]["changed"], receipt["tier"]


@when(parsers.re(rf"the daily sweep runs on (?P<day>{DATE})"))
def sweep_on_date(world: World, day: str) -> None:
    instant = datetime.combine(birth_date(day), time.min, UTC)
    assert instant >= world.now, f"{day} is before the scenario's now, {world.now:%d %B %Y}"
    world.sweep(instant)


@when(parsers.re(r"the daily sweep runs (?P<days>\d+) days? later"))
def sweep_later(world: World, days: str) -> None:
    world.sweep(world.now + timedelta(days=int(days)))


# -- privileges in the business's words: "late check-out and room upgrade" ------------------

#: Privileges as a spec lists them: "the executive lounge and a personal concierge".
PRIVILEGE_WORDS = r"(?!been )(?P<words>[a-z][a-z ,-]*)"


def privilege_keys(words: str) -> set[str]:
    """Each privilege of a list in words, reduced to its letters ("late check-out" is
    latecheckout, as the privilege late-checkout is)."""
    keys = set()
    for part in re.split(r", | and | or ", words):
        part = re.sub(r"^(?:the|an?) ", "", part.strip())
        keys.add(re.sub(r"[^a-z0-9]", "", part))
    return keys


def held_keys(world: World, name: str) -> set[str]:
    return {re.sub(r"[^a-z0-9]", "", p.casefold()) for p in privileges(world, name)}


@given(parsers.re(rf"{NAME} enjoys {PRIVILEGE_WORDS}"))
@then(parsers.re(rf"{NAME} (?:enjoys|has) {PRIVILEGE_WORDS}"))
def enjoys(world: World, name: str, words: str) -> None:
    missing = privilege_keys(words) - held_keys(world, name)
    assert not missing, (missing, privileges(world, name))


@given(parsers.re(rf"{NAME} (?:does not enjoy|does not have) {PRIVILEGE_WORDS}"))
@then(parsers.re(rf"{NAME} (?:does not enjoy|does not have|no longer enjoys|no longer has) "
                 rf"{PRIVILEGE_WORDS}"))
def does_not_enjoy(world: World, name: str, words: str) -> None:
    kept = privilege_keys(words) & held_keys(world, name)
    assert not kept, (kept, privileges(world, name))
