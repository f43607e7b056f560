"""Event attributes at the till: the programme declares each one's type (program.yaml
`events:`); a value of the wrong type is refused naming the attribute, and a value of the right
type reaches the rules as that type, so "680" is an amount and "Upheld" is the word upheld."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from tests.integration.helpers import use_rules

Auth = Callable[[str], dict[str, str]]
EVENTS = "/api/v1/events"
NOW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)
SERVICE_RULES = """
ruleset: service-care
description: Thank-you points after a service visit.
on: [service]
rules:
  - id: costly-repair
    description: 50 points after a repair costing more than 500 CNY
    when:
      - {fact: event.attributes.cost, above: 500}
    then:
      - award_points: {points: 50}
  - id: upheld-service-complaint
    description: 10 points when a service complaint is upheld
    when:
      - {fact: event.attributes.outcome, is: upheld}
    then:
      - award_points: {points: 10}
"""


@pytest.fixture
def member(client: FlaskClient, auth: Auth, ctx: ServiceContext) -> str:
    ctx.clock = lambda: NOW
    use_rules(ctx, service_care=SERVICE_RULES)
    response = client.post("/api/v1/members", json={
        "member_id": "M-1001", "name": "Ann", "enrolled_at": "2025-01-01T00:00:00+08:00",
    }, headers=auth("pos"))
    assert response.status_code == 201, response.json
    return "M-1001"


def service_visit(event_id: str, **attributes: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "service", "member_id": "M-1001",
            "occurred_at": "2026-11-20T14:03:00+08:00", "attributes": attributes}


def service_visits_recorded(ctx: ServiceContext) -> int:
    query = select(func.count()).select_from(t.events).where(t.events.c.type == "service")
    with ctx.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def fired(body: dict[str, Any]) -> list[str]:
    return [decision["rule_id"] for decision in body["decisions"]]


def test_an_attribute_of_the_wrong_type_is_refused_naming_it_and_nothing_is_recorded(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    response = client.post(EVENTS, json=service_visit("E-1", cost="a lot"), headers=auth("pos"))
    assert response.status_code == 422, response.json
    assert response.json == {
        "code": "validation_error",
        "message": "The request is not valid; check these fields: attributes.cost.",
        "details": {"fields": {"attributes.cost": ["Must be an amount of money."]}},
    }
    assert service_visits_recorded(ctx) == 0


def test_every_wrong_attribute_is_named_at_once_even_in_a_dry_run(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    body = service_visit("E-1", cost=-5, outcome="maybe", under_warranty="yes")
    response = client.post(f"{EVENTS}?dry_run=true", json=body, headers=auth("pos"))
    assert response.status_code == 422, response.json
    assert response.json["details"]["fields"] == {
        "attributes.cost": ["Must be an amount of money: not negative, at most 4 decimal places."],
        "attributes.outcome": ["Must be one of: upheld, rejected."],
        "attributes.under_warranty": ["Must be true or false."],
    }
    assert service_visits_recorded(ctx) == 0


@pytest.mark.parametrize("cost", ["680", 680, "680.00", 680.5])
def test_money_sent_as_text_or_number_is_an_amount_the_rules_compare(
    client: FlaskClient, auth: Auth, member: str, cost: Any
) -> None:
    response = client.post(EVENTS, json=service_visit("E-1", cost=cost), headers=auth("pos"))
    assert response.status_code == 201, response.json
    assert fired(response.json) == ["costly-repair"]
    assert response.json["points"]["earned"] == 50


def test_an_amount_below_the_threshold_does_not_match(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    response = client.post(EVENTS, json=service_visit("E-1", cost="499.99"), headers=auth("pos"))
    assert response.status_code == 201, response.json
    assert fired(response.json) == []


def test_a_word_matches_whatever_its_case(client: FlaskClient, auth: Auth, member: str) -> None:
    response = client.post(EVENTS, json=service_visit("E-1", outcome="Upheld"),
                           headers=auth("pos"))
    assert response.status_code == 201, response.json
    assert fired(response.json) == ["upheld-service-complaint"]


def test_attributes_are_stored_as_sent_and_undeclared_ones_are_kept(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    sent = {"cost": "680", "outcome": "UPHELD", "technician": "Bo", "parts": [1, 2]}
    response = client.post(EVENTS, json=service_visit("E-1", **sent), headers=auth("pos"))
    assert response.status_code == 201, response.json
    with ctx.engine.connect() as conn:
        stored = conn.execute(select(t.events.c.attributes)
                              .where(t.events.c.event_id == "E-1")).scalar_one()
    assert stored == sent


def test_a_custom_event_the_programme_does_not_declare_keeps_any_attributes(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    body = {**service_visit("E-1", cost="a lot"), "type": "webinar_attended"}
    response = client.post(EVENTS, json=body, headers=auth("pos"))
    assert response.status_code == 201, response.json
