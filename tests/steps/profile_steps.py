"""Steps about a member's profile after enrolment: finding them by phone or e-mail, changing
their details, consent per channel, and erasure on request, spoken through the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from loyalty.domain.contact import CHANNELS
from loyalty.domain.profile import is_personal
from loyalty.services.verify import verify_ledger
from tests.steps.programme_steps import World

Auth = Callable[[str], dict[str, str]]
MEMBERS = "/api/v1/members"


@dataclass
class Desk:
    """What the profile steps saw: the last answer, and a member as it was before a change."""

    last: Any = None
    before: dict[str, Any] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""


@pytest.fixture
def desk() -> Desk:
    return Desk()


def _member_url(world: World, name: str) -> str:
    return f"{MEMBERS}/{world.members[name]}"


def _history(world: World, auth: Auth, name: str) -> list[dict[str, Any]]:
    """The member's profile changes, oldest first."""
    response = world.client.get(f"{_member_url(world, name)}/changes?limit=200",
                                headers=auth("adjust"))
    assert response.status_code == 200, response.get_json()
    return list(reversed(response.get_json()["changes"]))


def _ledger(world: World, name: str) -> list[dict[str, Any]]:
    response = world.client.get(f"{_member_url(world, name)}/ledger?limit=200",
                                headers=world.headers)
    entries: list[dict[str, Any]] = response.get_json()["entries"]
    return entries


def _change(world: World, headers: dict[str, str], name: str, body: dict[str, Any]) -> Any:
    return world.client.patch(_member_url(world, name), json=body, headers=headers)


# --- finding a member -------------------------------------------------------------------------

@when(parsers.parse('the till looks up the phone number "{phone}"'))
def look_up_phone(world: World, desk: Desk, phone: str) -> None:
    desk.last = world.client.get(MEMBERS, query_string={"phone": phone}, headers=world.headers)


@then(parsers.parse("the till finds {name} with her points"))
def finds_member(world: World, desk: Desk, name: str) -> None:
    assert desk.last.status_code == 200, desk.last.get_json()
    found = desk.last.get_json()
    assert found["member_id"] == world.members[name]
    assert found["name"] == name
    assert found["points"] == world.member(name)["points"]


@then("the till is told no member has that phone number")
def no_such_phone(desk: Desk) -> None:
    assert desk.last.status_code == 404
    assert desk.last.get_json()["code"] == "unknown_member"


@then(parsers.parse('the till finds {name} by the e-mail address "{email}"'))
def finds_by_email(world: World, name: str, email: str) -> None:
    found = world.client.get(MEMBERS, query_string={"email": email}, headers=world.headers)
    assert found.status_code == 200, found.get_json()
    assert found.get_json()["member_id"] == world.members[name]


# --- changing details ---------------------------------------------------------------------

@when(parsers.parse("the service desk corrects {name}'s e-mail address to \"{email}\""))
def desk_corrects_email(world: World, desk: Desk, auth: Auth, name: str, email: str) -> None:
    desk.last = _change(world, auth("adjust"), name, {"email": email})
    assert desk.last.status_code == 200, desk.last.get_json()


@then(parsers.parse("{name}'s e-mail address is \"{email}\""))
def email_is(world: World, name: str, email: str) -> None:
    assert world.member(name)["email"] == email


@then(parsers.parse("{name}'s history shows her e-mail address changed from \"{old}\" to "
                    "\"{new}\" by the service desk"))
def history_shows_email(world: World, auth: Auth, name: str, old: str, new: str) -> None:
    latest = _history(world, auth, name)[-1]
    assert (latest["field"], latest["old_value"], latest["new_value"], latest["source"]) == (
        "email", old, new, "profile")
    assert latest["actor"] == "test-adjust"
    assert datetime.fromisoformat(latest["changed_at"]) == world.now


@when(parsers.parse("the till changes {name}'s phone number to \"{phone}\""))
def till_changes_phone(world: World, desk: Desk, name: str, phone: str) -> None:
    desk.last = _change(world, world.headers, name, {"phone": phone})


@then("the till is told the phone number belongs to another member")
def phone_taken(desk: Desk) -> None:
    assert desk.last.status_code == 409, desk.last.get_json()
    assert desk.last.get_json()["code"] == "member_exists"
    assert desk.last.get_json()["details"] == {"field": "phone"}


@then(parsers.parse("{name}'s phone number is still \"{phone}\""))
def phone_still(world: World, name: str, phone: str) -> None:
    assert world.member(name)["phone"] == phone


@then(parsers.parse("{name}'s history shows no change"))
def no_change(world: World, auth: Auth, name: str) -> None:
    assert _history(world, auth, name) == []


# --- consent ------------------------------------------------------------------------------

@given(parsers.parse("{name} joined agreeing to be contacted by {channel}"))
def joined_consenting(world: World, name: str, channel: str) -> None:
    response = world.post(MEMBERS, {"name": name, "consents": {channel: True}})
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@when(parsers.parse("{name} agrees to be contacted by {channel}"))
def gives_consent(world: World, name: str, channel: str) -> None:
    response = _change(world, world.headers, name, {"consents": {channel: True}})
    assert response.status_code == 200, response.get_json()


@when(parsers.parse("{name} withdraws her consent to be contacted by {channel}"))
def withdraws_consent(world: World, name: str, channel: str) -> None:
    response = _change(world, world.headers, name, {"consents": {channel: False}})
    assert response.status_code == 200, response.get_json()


@then(parsers.parse("{name} may be contacted by {channel} only"))
def contacted_only_by(world: World, name: str, channel: str) -> None:
    assert world.member(name)["consents"] == {c: c == channel for c in CHANNELS}


@then(parsers.parse("{name}'s history shows her consent to {channel} given, then withdrawn"))
def consent_history(world: World, auth: Auth, name: str, channel: str) -> None:
    turns = [(c["old_value"], c["new_value"], c["source"]) for c in _history(world, auth, name)
             if c["field"] == f"consents.{channel}"]
    assert turns == [(False, True, "consent"), (True, False, "consent")]


# --- erasure ------------------------------------------------------------------------------

@given(parsers.parse("an administrator erased {name}'s personal data because \"{reason}\""))
@when(parsers.parse("an administrator erases {name}'s personal data because \"{reason}\""))
def erases(world: World, desk: Desk, auth: Auth, name: str, reason: str) -> None:
    desk.before, desk.ledger, desk.reason = world.member(name), _ledger(world, name), reason
    desk.last = world.client.delete(f"{_member_url(world, name)}/personal-data",
                                    json={"reason": reason}, headers=auth("admin"))
    assert desk.last.status_code == 200, desk.last.get_json()


@then(parsers.parse("nobody is found by {name}'s e-mail address any more"))
def not_found_by_email(world: World, desk: Desk, name: str) -> None:
    email = desk.before["email"]
    assert email
    found = world.client.get(MEMBERS, query_string={"email": email}, headers=world.headers)
    assert found.status_code == 404
    assert world.member(name)["name"] is None


@then(parsers.parse("{name}'s account keeps every point and every ledger entry it had"))
def keeps_points(world: World, desk: Desk, name: str) -> None:
    after = world.member(name)
    assert after["points"] == desk.before["points"]
    assert (after["tier"], after["rewards"]) == (desk.before["tier"], desk.before["rewards"])
    assert _ledger(world, name) == desk.ledger


@then("the points ledger still balances")
def ledger_balances(world: World) -> None:
    assert verify_ledger(world.ctx) == []


@then(parsers.parse("the audit log shows who erased {name}'s personal data and why"))
def audited(world: World, desk: Desk, auth: Auth, name: str) -> None:
    log = world.client.get("/api/v1/audit?action=member.erased", headers=auth("admin"))
    [entry] = log.get_json()["entries"]
    assert (entry["actor"], entry["subject"], entry["reason"]) == (
        "test-admin", world.members[name], desk.reason)


@then(parsers.parse("{name}'s history keeps no personal detail"))
def history_scrubbed(world: World, desk: Desk, auth: Auth, name: str) -> None:
    history = _history(world, auth, name)
    assert history
    for change in history:
        if is_personal(change["field"]):
            assert (change["old_value"], change["new_value"]) == (None, None), change
    assert desk.before["email"] not in str(history)


@then(parsers.parse("{name}'s anonymous account earns points for it"))
def anonymous_earns(world: World, name: str) -> None:
    assert world.last_body["member_id"] == world.members[name]
    assert world.last_body["points"]["earned"] > 0
    member = world.member(name)
    assert (member["name"], member["email"]) == (None, None)


@then(parsers.parse("{name}'s profile can no longer be changed"))
def profile_closed(world: World, name: str) -> None:
    response = _change(world, world.headers, name, {"name": name})
    assert response.status_code == 409
    assert response.get_json()["code"] == "member_erased"
    assert world.member(name)["name"] is None
