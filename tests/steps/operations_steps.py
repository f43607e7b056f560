"""Steps about running the service: the operator's figures, the log, settings and the
database a command works on."""

from __future__ import annotations

import io
import json
import logging
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from loyalty.config import variable
from loyalty.observability.logs import configure_logging
from tests.integration.operations_server import environment, run
from tests.metrics_page import MetricsPage
from tests.steps.programme_steps import World
from tests.steps.sweep_steps import run_sweep

#: What the specs call a setting, and the setting.
SETTINGS = {"database connections per worker": "db_pool_size"}
#: Each step of the daily sweep.
SWEEP_STEPS = ("points", "tiers", "vip", "lifecycle", "calendar", "important_dates")
#: What a member tells the programme about herself when she joins.
PROFILE = {"email": "cai.lin@example.com", "phone": "+86 139 1234 5678",
           "birth_date": "1988-02-29"}


def figures(world: World) -> MetricsPage:
    response = world.client.get("/metrics")
    assert response.status_code == 200
    return MetricsPage(response.get_data(as_text=True))


def grown(world: World, name: str, **labels: str) -> float:
    before: MetricsPage = world.figures_before  # type: ignore[attr-defined]
    return figures(world).value(name, **labels) - before.value(name, **labels)


@given("the operator has looked at the service's figures")
def looked_at_figures(world: World) -> None:
    world.figures_before = figures(world)  # type: ignore[attr-defined]


@when("the till sends Ann's purchase again")
def purchase_again(world: World) -> None:
    response = world.post("/api/v1/transactions", world.last_purchase)
    assert response.status_code == 201, world.last_body


@given(parsers.parse("{name} joins the programme"))
@when(parsers.parse("{name} joins the programme"))
def joins(world: World, name: str) -> None:
    response = world.post("/api/v1/members", {"name": name})
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@when(parsers.parse("{name} joins the programme, agreeing to text messages"))
def joins_with_consent(world: World, name: str) -> None:
    phone = f"+86138{sum(map(ord, name)):08d}"
    response = world.post("/api/v1/members", {"name": name, "phone": phone,
                                              "consents": {"sms": True}})
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@when("the daily sweep runs the next day")
def sweep_next_day(world: World, auth: Callable[[str], dict[str, str]]) -> None:
    world.swept_as_of = world.now + timedelta(days=1)  # type: ignore[attr-defined]
    run_sweep(world, world.swept_as_of, auth("admin"))  # type: ignore[attr-defined]


@then(parsers.re(r"the operator sees (?P<count>\d+) more (?P<kind>purchase|return)s? recorded"),
      converters={"count": int})
def more_recorded(world: World, count: int, kind: str) -> None:
    assert grown(world, "loyalty_transactions_total", type=kind) == count


@then(parsers.parse("the operator sees {points:d} more points given"))
def more_points_given(world: World, points: int) -> None:
    assert grown(world, "loyalty_points_issued_total", source="purchase") == points


@then(parsers.parse("the operator sees {points:d} more points taken back"))
def more_points_taken_back(world: World, points: int) -> None:
    assert grown(world, "loyalty_points_clawed_back_total") == points


@then(parsers.parse("the operator sees {count:d} messages to members waiting"))
def messages_waiting(world: World, count: int) -> None:
    assert figures(world).value("loyalty_notifications_waiting") == count


@then(parsers.parse("the operator sees that {count:d} members went through every step of "
                    "the sweep"))
def sweep_progress(world: World, count: int) -> None:
    page = figures(world)
    assert page.value("loyalty_sweep_members") == count
    assert {step: page.value("loyalty_sweep_members_done", phase=step)
            for step in SWEEP_STEPS} == dict.fromkeys(SWEEP_STEPS, count)


@then("the operator sees that the sweep of that day was completed")
def sweep_completed(world: World) -> None:
    page = figures(world)
    as_of = world.swept_as_of.timestamp()  # type: ignore[attr-defined]
    assert page.value("loyalty_sweep_last_completed_as_of_timestamp_seconds") == as_of
    assert page.value("loyalty_sweep_latest_as_of_timestamp_seconds") == as_of


# -- the log ---------------------------------------------------------------------------------


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """Every line the service logs during the scenario, at its most talkative."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream, force=True)
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@given("the service writes everything it does to its log", target_fixture="log")
def logs_everything(service_log: io.StringIO) -> io.StringIO:
    return service_log


@given("the service writes everything it does to its log, down to each database statement",
       target_fixture="log")
def logs_statements(world: World, service_log: io.StringIO) -> Iterator[io.StringIO]:
    world.ctx.engine.echo = True
    yield service_log
    world.ctx.engine.echo = False


@when(parsers.parse("{name} joins with her phone number, e-mail address and birth date"))
def joins_with_profile(world: World, name: str) -> None:
    world.profile = {"name": f"{name} Lin", **PROFILE}  # type: ignore[attr-defined]
    response = world.post("/api/v1/members", world.profile)  # type: ignore[attr-defined]
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@when(parsers.parse("someone tries to join with {name}'s e-mail address again"))
def joins_again(world: World, name: str) -> None:
    response = world.post("/api/v1/members", {"email": PROFILE["email"]})
    assert response.status_code == 409, world.last_body


@then("the log tells what the service did")
def log_tells(log: io.StringIO) -> None:
    lines = log_lines(log)
    assert any(line["logger"].startswith("sqlalchemy.engine") for line in lines)
    assert any(line["request_id"] for line in lines)


@then(parsers.parse("no log line carries {name}'s phone number, e-mail address, name or birth "
                    "date"))
def log_keeps_privacy(world: World, log: io.StringIO, name: str) -> None:
    profile: dict[str, str] = world.profile  # type: ignore[attr-defined]
    text = log.getvalue()
    told = [*profile.values(), profile["phone"].replace(" ", ""), "1988, 2, 29"]
    assert [value for value in told if value in text] == []


@then(parsers.parse("the log says rules version {version} was activated, naming the request "
                    "that did it"))
def log_names_activation(world: World, log: io.StringIO, version: str) -> None:
    request_id = world.last.headers["X-Request-Id"]
    activated = [line for line in log_lines(log)
                 if line["logger"] == "loyalty.services.versions"
                 and f"rules version {version} " in line["message"]]
    assert [line["request_id"] for line in activated] == [request_id], log.getvalue()


# -- settings and the database a command works on --------------------------------------------


@when(parsers.parse('the operator starts the service with the {setting} set to "{value}"'),
      target_fixture="started")
def start_with(setting: str, value: str, elsewhere: Path) -> subprocess.CompletedProcess[str]:
    env = environment(**{variable(SETTINGS[setting]): value})
    return run(["serve"], env, cwd=elsewhere)


@then(parsers.parse("the operator is told in one line that the {setting} is not a whole number"))
def told_not_whole(started: subprocess.CompletedProcess[str], setting: str) -> None:
    name = variable(SETTINGS[setting])
    assert started.stderr.splitlines() == [
        f"error: {name}='five': not a whole number"], started.stderr


@then("the service has not started")
def not_started(started: subprocess.CompletedProcess[str]) -> None:
    assert started.returncode == 2 and started.stdout == ""


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder of the operator's with nothing in it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@when("the operator lists the keys in a folder that has no database", target_fixture="listed")
def list_keys_without_database(elsewhere: Path) -> subprocess.CompletedProcess[str]:
    return run(["keys", "list"], environment(), cwd=elsewhere)


@then("the operator is told there is no database in that folder")
def told_no_database(listed: subprocess.CompletedProcess[str], elsewhere: Path) -> None:
    assert listed.returncode == 1
    assert listed.stderr.startswith(f"error: no database at {elsewhere / 'loyalty.db'}: run "
                                    "`loyalty init`")


@then("no database appears in that folder")
def no_database(elsewhere: Path) -> None:
    assert list(elsewhere.iterdir()) == []
