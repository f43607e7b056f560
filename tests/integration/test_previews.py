"""Dry runs dated ahead: a preview may look as far ahead as the dry-run horizon, while what
the till records keeps the future tolerance; a preview uses the rules in force and the rule
windows of the day it is dated.

Every case goes through the HTTP API with the bundled rules plus a weekend campaign whose
window opens after the service clock, and checks that nothing was recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from loyalty.config import Settings
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from tests.integration.helpers import CHINA, enrol, use_rules

Auth = Callable[[str], dict[str, str]]
TX = "/api/v1/transactions"
EVENTS = "/api/v1/events"
#: A Wednesday; the campaign below runs on the Saturday and Sunday of the same week.
WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=CHINA)
SATURDAY = datetime(2026, 11, 21, 11, 0, tzinfo=CHINA)
HORIZON = timedelta(days=90)
TOLERANCE = timedelta(hours=24)
SECOND = timedelta(seconds=1)

WEEKEND = """
ruleset: weekend
description: This weekend's campaign.
on: [purchase]
rules:
  - id: weekend-500
    description: 500 bonus points for shopping this weekend
    priority: 40
    campaign: weekend-2026-11
    from: 2026-11-21
    until: 2026-11-22
    when:
      - {fact: event.weekday, in: [saturday, sunday]}
    then:
      - award_points: {points: 500}
"""


@pytest.fixture
def member(ctx: ServiceContext) -> str:
    ctx.clock = lambda: WEDNESDAY
    use_rules(ctx)  # version 1: the bundled rules
    use_rules(ctx, weekend=WEEKEND)  # version 2: the same, with the weekend campaign
    return str(enrol(ctx)["member_id"])


def mug(at: datetime, transaction_id: str = "S12-PREVIEW-1") -> dict[str, Any]:
    return {
        "transaction_id": transaction_id, "type": "purchase", "member_id": "M-1001",
        "occurred_at": at.isoformat(), "store_id": "S12", "channel": "store",
        "currency": "CNY",
        "lines": [{"sku": "MUG", "category": "homeware", "quantity": 1, "unit_price": "100.00"}],
        "payments": [{"method": "card", "amount": "100.00"}],
    }


def visit(at: datetime) -> dict[str, Any]:
    return {"event_id": "E-PREVIEW-1", "type": "visit", "member_id": "M-1001",
            "occurred_at": at.isoformat(), "attributes": {}}


def recorded(ctx: ServiceContext) -> dict[str, int]:
    """How many rows each table that a till's write touches holds."""
    counts = {}
    with ctx.engine.connect() as conn:
        for table in (t.transactions, t.events, t.ledger_entries, t.point_lots,
                      t.idempotency_keys, t.rule_usage, t.rule_budgets):
            counts[table.name] = int(conn.execute(
                select(func.count()).select_from(table)).scalar_one())
    return counts


def fired(body: dict[str, Any]) -> dict[str, int]:
    return {d["rule_id"]: d.get("points") or 0 for d in body["decisions"]}


def refused_at_occurred_at(response: Any) -> str:
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert list(response.json["details"]["fields"]) == ["occurred_at"], response.json
    problems: list[str] = response.json["details"]["fields"]["occurred_at"]
    assert len(problems) == 1, problems
    return problems[0]


def test_a_dry_run_dated_this_weekend_previews_the_weekend_campaign(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    before = recorded(ctx)
    response = client.post(f"{TX}?dry_run=true", json=mug(SATURDAY), headers=auth("pos"))
    assert response.status_code == 200, response.json
    assert fired(response.json) == {"base-earn": 100, "weekend-500": 500}
    assert response.json["points"]["earned"] == 600
    weekend = [d for d in response.json["decisions"] if d["rule_id"] == "weekend-500"]
    assert weekend[0]["campaign"] == "weekend-2026-11"
    assert weekend[0]["reason"] == "500 bonus points for shopping this weekend"
    assert recorded(ctx) == before


def test_a_preview_names_the_rules_version_in_force(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    in_force = ctx.rules.current().version
    assert in_force == "2"
    response = client.post(f"{TX}?dry_run=true", json=mug(SATURDAY), headers=auth("pos"))
    assert response.status_code == 200, response.json
    versions = {d["ruleset_version"] for d in response.json["decisions"]}
    assert versions == {in_force}, response.json["decisions"]


def test_the_weekend_campaign_does_not_fire_on_a_preview_dated_before_its_window(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    friday = SATURDAY - timedelta(days=1)
    response = client.post(f"{TX}?dry_run=true", json=mug(friday), headers=auth("pos"))
    assert response.status_code == 200, response.json
    assert fired(response.json) == {"base-earn": 100}
    after = SATURDAY + timedelta(days=7)  # a Saturday after the window closed
    response = client.post(f"{TX}?dry_run=true", json=mug(after), headers=auth("pos"))
    assert response.status_code == 200, response.json
    assert fired(response.json) == {"base-earn": 100}


def test_the_weekend_purchase_itself_cannot_be_recorded_ahead_of_time(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    before = recorded(ctx)
    problem = refused_at_occurred_at(client.post(TX, json=mug(SATURDAY), headers=auth("pos")))
    assert problem == ("Must not be more than 24 hours ahead. "
                       "A dry run (?dry_run=true) may be up to 90 days ahead.")
    problem = refused_at_occurred_at(
        client.post(f"{TX}?dry_run=false", json=mug(SATURDAY), headers=auth("pos")))
    assert problem.startswith("Must not be more than 24 hours ahead.")
    assert recorded(ctx) == before


@pytest.mark.parametrize("url", [TX, f"{TX}?dry_run=false"])
def test_a_real_purchase_keeps_the_24_hour_tolerance(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str, url: str
) -> None:
    refused_at_occurred_at(client.post(url, json=mug(WEDNESDAY + TOLERANCE + SECOND),
                                       headers=auth("pos")))
    response = client.post(url, json=mug(WEDNESDAY + TOLERANCE), headers=auth("pos"))
    assert response.status_code == 201, response.json
    assert recorded(ctx)["transactions"] == 1


def test_a_dry_run_may_be_dated_up_to_the_horizon_and_not_a_second_past_it(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    before = recorded(ctx)
    at_horizon = client.post(f"{TX}?dry_run=true", json=mug(WEDNESDAY + HORIZON),
                             headers=auth("pos"))
    assert at_horizon.status_code == 200, at_horizon.json
    assert at_horizon.json["points"]["earned"] == 100
    past = client.post(f"{TX}?dry_run=true", json=mug(WEDNESDAY + HORIZON + SECOND),
                       headers=auth("pos"))
    assert refused_at_occurred_at(past) == (
        "A dry run must not be more than 90 days ahead (the dry-run horizon).")
    assert recorded(ctx) == before


def test_an_event_may_be_previewed_up_to_the_horizon(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    before = recorded(ctx)
    response = client.post(f"{EVENTS}?dry_run=true", json=visit(WEDNESDAY + HORIZON),
                           headers=auth("pos"))
    assert response.status_code == 200, response.json
    refused_at_occurred_at(client.post(f"{EVENTS}?dry_run=true",
                                       json=visit(WEDNESDAY + HORIZON + SECOND),
                                       headers=auth("pos")))
    refused_at_occurred_at(client.post(EVENTS, json=visit(WEDNESDAY + TOLERANCE + SECOND),
                                       headers=auth("pos")))
    assert recorded(ctx) == before


def test_the_horizon_is_a_setting(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    ctx.settings = replace(ctx.settings, dry_run_horizon_days=7)
    week = WEDNESDAY + timedelta(days=7)
    ok = client.post(f"{TX}?dry_run=true", json=mug(week), headers=auth("pos"))
    assert ok.status_code == 200, ok.json
    problem = refused_at_occurred_at(
        client.post(f"{TX}?dry_run=true", json=mug(week + SECOND), headers=auth("pos")))
    assert problem == "A dry run must not be more than 7 days ahead (the dry-run horizon)."


def test_a_horizon_shorter_than_the_tolerance_never_makes_a_dry_run_stricter(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    ctx.settings = replace(ctx.settings, dry_run_horizon_days=0)
    ok = client.post(f"{TX}?dry_run=true", json=mug(WEDNESDAY + TOLERANCE), headers=auth("pos"))
    assert ok.status_code == 200, ok.json
    problem = refused_at_occurred_at(client.post(
        f"{TX}?dry_run=true", json=mug(WEDNESDAY + TOLERANCE + SECOND), headers=auth("pos")))
    assert problem == "Must not be more than 24 hours ahead."


def test_the_horizon_is_read_from_the_environment() -> None:
    assert Settings().dry_run_horizon_days == 90
    settings = Settings.from_env({"LOYALTY_DRY_RUN_HORIZON_DAYS": "30"})
    assert settings.dry_run_horizon_days == 30


def test_a_redemption_is_not_a_preview(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    body = {"redemption_id": "RD-1", "reward_id": "FREE-CHECKUP",
            "occurred_at": (WEDNESDAY + timedelta(days=3)).isoformat()}
    response = client.post("/api/v1/members/M-1001/redemptions?dry_run=true", json=body,
                           headers=auth("pos"))
    assert response.status_code == 422  # refused by name, not taken for a real redemption
    assert response.json["details"]["fields"] == {"dry_run": ["Unknown field."]}
    response = client.post("/api/v1/members/M-1001/redemptions", json=body, headers=auth("pos"))
    assert refused_at_occurred_at(response) == "Must not be more than 24 hours ahead."
