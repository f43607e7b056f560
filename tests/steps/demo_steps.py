"""Steps about demo programmes: one built from a pack by its title, refused where members
already are, and what the reports then show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from pytest_bdd import given, parsers, then, when

from loyalty.cli import main
from loyalty.demo import observe
from loyalty.packs import pack_names, pack_summary
from loyalty.services.context import ServiceContext

START = "2025-01-01"


@dataclass
class DemoWorld:
    database_url: str
    client: FlaskClient
    ctx: ServiceContext
    auth: Callable[[str], dict[str, str]]
    result: Result | None = None

    def report(self, name: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/reports/{name}", headers=self.auth("marketing"))
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body


@pytest.fixture
def demo_world(database_url: str, client: FlaskClient, ctx: ServiceContext,
               auth: Callable[[str], dict[str, str]]) -> DemoWorld:
    return DemoWorld(database_url, client, ctx, auth)


def pack_titled(title: str) -> str:
    """The bundled pack whose programme has this title."""
    return next(name for name in pack_names() if pack_summary(name)["title"] == title)


@given("a new programme that nobody has joined yet")
def new_database(demo_world: DemoWorld) -> None:
    assert observe.member_count(demo_world.ctx) == 0


@given("a programme that one member has already joined")
def one_member(demo_world: DemoWorld) -> None:
    response = demo_world.client.post("/api/v1/members", json={
        "name": "Ann", "email": "ann@example.com"}, headers=demo_world.auth("pos"))
    assert response.status_code == 201, response.get_json()


@when(parsers.parse('a demo of the "{title}" is built with {members:d} members'))
def build_demo(demo_world: DemoWorld, title: str, members: int,
               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", demo_world.database_url)
    demo_world.result = CliRunner().invoke(
        main, ["demo", "--pack", pack_titled(title), "--members", str(members),
               "--start", START, "--quiet"], catch_exceptions=False)


@then("the top of the pyramid is visible: there are VIP members, and the best fifth of the "
      "members bring most of the spend")
def visible_top(demo_world: DemoWorld) -> None:
    assert demo_world.result is not None and demo_world.result.exit_code == 0, \
        demo_world.result and demo_world.result.output
    overview = demo_world.report("overview")
    assert overview["vip"] >= 1
    assert overview["pyramid"][0]["members"] >= 1
    assert observe.top_share(observe.spend_by_member(demo_world.ctx)) > 0.5


@then("some members have lapsed")
def some_lapsed(demo_world: DemoWorld) -> None:
    assert demo_world.report("overview")["lifecycle"].get("lapsed", 0) >= 1


@then("win-back offers were sent and some of them were used")
def offers_used(demo_world: DemoWorld) -> None:
    offers = demo_world.report("winback")["offers"]
    assert sum(offer["issued"] for offer in offers) >= 1
    assert sum(offer["used"] for offer in offers) >= 1


@then("the demo is refused because the programme already has members")
def refused(demo_world: DemoWorld) -> None:
    assert demo_world.result is not None and demo_world.result.exit_code == 1
    assert "already holds 1 member" in demo_world.result.stderr


@then("the programme still has exactly one member")
def still_one(demo_world: DemoWorld) -> None:
    assert demo_world.report("overview")["members"] == 1
