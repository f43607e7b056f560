"""Steps about who the members are: a customer, an owner, a patient, a guest, a shipper."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from tests.steps.industry.words import DATE, NAME, POINTS, ROLE, birth_date, code, count, points
from tests.steps.industry.world import World

PERIODS = {"day": 1, "days": 1, "month": 30, "months": 30, "year": 365, "years": 365}


@given(parsers.re(rf"{NAME} is an? {ROLE}(?: born on (?P<born>{DATE}))?"))
def is_member(world: World, name: str, born: str | None) -> None:
    world.enrol(name, birth_date=birth_date(born) if born else None)


@given(parsers.re(rf"{NAME} has been an? {ROLE} for (?P<n>\w+) "
                  r"(?P<period>days?|months?|years?)"))
def long_standing(world: World, name: str, n: str, period: str) -> None:
    world.enrol(name, enrolled_days_ago=count(n) * PERIODS[period])


@when(parsers.re(rf"{NAME} joins(?: the club| the programme| as an? {ROLE})?"))
def joins(world: World, name: str) -> None:
    world.enrol(name, enrolled_days_ago=0)


@then(parsers.re(rf"{NAME} starts with (?P<amount>{POINTS}) points"))
def starts_with(world: World, name: str, amount: str) -> None:
    balance = world.member(name)["points"]
    assert balance["available"] + balance["pending"] == points(amount), balance


@given(parsers.re(rf"{NAME} is an? {ROLE} who joined through the (?P<channel>[a-z -]+)"))
def joined_through(world: World, name: str, channel: str) -> None:
    world.enrol(name, channel=code(channel))


@given(parsers.re(rf"{NAME} is an? {ROLE} the board names an? (?P<mark>[a-z -]+)"))
def named_by_the_board(world: World, name: str, mark: str) -> None:
    """A member the business marks by hand (a tag such as strategic-partner)."""
    world.enrol(name, tags=[code(mark)])
