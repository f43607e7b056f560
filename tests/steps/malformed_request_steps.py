"""Steps about messages sent by mistake: what the till is told, and that nothing is recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_bdd import parsers, then, when
from werkzeug.test import TestResponse

from loyalty.api.schemas.requests import MAX_LINES, MAX_PAYMENTS
from tests.api.hostile import Raw, counts, dumps, error_shape_problems, named_fields
from tests.steps.programme_steps import World
from tests.steps.till_check_steps import purchase_body

#: What each mistake of the specs does to a purchase's message.
Mistake = Callable[[dict[str, Any]], bytes | dict[str, Any]]
MISTAKES: dict[str, Mistake] = {
    "nested a hundred thousand levels deep": lambda body: {
        **body, "offer_codes": Raw("[" * 100_000 + "]" * 100_000)},
    "with a quantity of five thousand digits": lambda body: {
        **body, "lines": [{**body["lines"][0], "quantity": Raw("9" * 5000)}]},
    "with a null character hidden in its number": lambda body: {
        **body, "transaction_id": body["transaction_id"] + "\x00"},
    "with half of an emoji in the name of the store": lambda body: {
        **body, "store_id": "S12 \ud83d"},
    "dated in the year 1, east of Greenwich": lambda body: {
        **body, "occurred_at": "0001-01-01T00:00:00+08:00"},
    "dated in the last second of the year 9999": lambda body: {
        **body, "occurred_at": "9999-12-31T23:59:59-05:00"},
    f"with {MAX_LINES + 1} lines": lambda body: {
        **body, "lines": body["lines"] * (MAX_LINES + 1)},
    f"with {MAX_PAYMENTS + 1} payments": lambda body: {
        **body, "payments": body["payments"] * (MAX_PAYMENTS + 1)},
    "cut off halfway": lambda body: dumps(body).encode()[: len(dumps(body)) // 2],
    "ten megabytes long": lambda body: dumps(body).encode() + b" " * 10_000_000,
}


@dataclass
class Sent:
    """A message sent, its answer, and what the service held before it."""

    response: TestResponse
    before: dict[str, int]

    @property
    def body(self) -> Any:
        return self.response.get_json()


def _send(world: World, message: bytes | dict[str, Any], query: str = "") -> Sent:
    before = counts(world.ctx)
    data = message if isinstance(message, bytes) else dumps(message).encode()
    response = world.client.post(f"/api/v1/transactions{query}", data=data, headers={
        **world.headers, "Content-Type": "application/json"})
    world.last, world.last_body = response, response.get_json()
    return Sent(response, before)


@when(parsers.parse("the till sends {name}'s purchase of {amount} with a garbled date, "
                    "paid with {paid}, in US dollars"), target_fixture="sent")
def purchase_with_many_mistakes(world: World, name: str, amount: str, paid: str) -> Sent:
    return _send(world, purchase_body(world, name, amount, occurred_at="the 20th of November",
                                  currency="USD", payments=[{"method": "card", "amount": paid}]))


@when(parsers.parse("the till asks for a preview of {name}'s purchase of {amount} but "
                    "misspells the option"), target_fixture="sent")
def misspelt_preview(world: World, name: str, amount: str) -> Sent:
    return _send(world, purchase_body(world, name, amount), "?dryrun=true")


@when(parsers.parse("the till sends a purchase of {amount} for {name} {mistake}"),
      target_fixture="sent")
def purchase_by_mistake(world: World, amount: str, name: str, mistake: str) -> Sent:
    return _send(world, MISTAKES[mistake](purchase_body(world, name, amount)))


@when(parsers.parse("the till then sends {name}'s purchase of {amount} correctly"))
def purchase_correctly(world: World, name: str, amount: str) -> None:
    world.purchase(name, purchase_body(world, name, amount)["lines"])


@when(parsers.parse("the service desk asks for {name}'s history from a page marker of "
                    "twenty digits"), target_fixture="sent")
def page_beyond_any(world: World, name: str, auth: Callable[[str], dict[str, str]]) -> Sent:
    before = counts(world.ctx)
    response = world.client.get(f"/api/v1/members/{world.members[name]}/ledger?cursor="
                                + "9" * 20, headers=auth("adjust"))
    return Sent(response, before)


def _refused(sent: Sent, status: int, code: str) -> None:
    assert sent.response.status_code == status, sent.body
    assert not error_shape_problems(sent.response), sent.body
    assert sent.body["code"] == code, sent.body


@then("the till is told to correct the date, the payments and the currency, all at once")
def told_every_mistake(sent: Sent) -> None:
    _refused(sent, 422, "validation_error")
    assert named_fields(sent.response) == {"occurred_at", "payments", "currency"}, sent.body


@then(parsers.parse('the till is told the option "{option}" is not one it may use'))
def told_unknown_option(sent: Sent, option: str) -> None:
    _refused(sent, 422, "validation_error")
    assert sent.body["details"]["fields"] == {option: ["Unknown field."]}, sent.body


@then("the till is told the message is not valid")
def told_not_valid(sent: Sent) -> None:
    _refused(sent, 422, "validation_error")


@then("the till is told the message is too large")
def told_too_large(sent: Sent) -> None:
    _refused(sent, 413, "payload_too_large")


@then("the service desk is told the page marker is not valid")
def told_bad_page_marker(sent: Sent) -> None:
    _refused(sent, 422, "validation_error")
    assert named_fields(sent.response) == {"cursor"}, sent.body


@then(parsers.parse("nothing is recorded for {name}"))
def nothing_recorded(world: World, sent: Sent, name: str) -> None:
    assert counts(world.ctx) == sent.before
