"""`loyalty webhooks ...` and `loyalty deliver` from the command line, and the systemd unit that
keeps a delivery process running."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from loyalty.cli import main
from loyalty.services.context import ServiceContext
from tests.conftest import RULES_DIR
from tests.integration.receiver import Receiver
from tests.integration.test_deploy import installed_command, parsed, unit


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


def run(database_url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={
        "LOYALTY_DATABASE_URL": database_url, "LOYALTY_RULES_DIR": str(RULES_DIR)})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_an_endpoint_added_at_the_command_line_gets_what_deliver_once_sends(
        database_url: str, client: FlaskClient, auth: object, ctx: ServiceContext,
        receiver: Receiver) -> None:
    enrolled = client.post("/api/v1/members", json={
        "member_id": "M-1", "name": "Ann", "email": "ann@example.com",
        "consents": {"email": True}}, headers=auth("pos"))  # type: ignore[operator]
    assert enrolled.status_code == 201, enrolled.json
    added = run(database_url, "webhooks", "add", receiver.url, "--channels", "email,sms",
                "--kind", "welcome", "--description", "mail service").splitlines()
    receiver.secret = added[-1]
    assert added[-1].startswith("whsec_") and "kinds: welcome" in added[0]
    listed = run(database_url, "webhooks", "list")
    assert receiver.url in listed and "whsec_" not in listed
    assert json.loads(run(database_url, "deliver", "--once")) == {"delivered": 1}
    (arrival,) = receiver.arrivals
    assert arrival.signed and arrival.body["to"]["email"] == "ann@example.com"
    assert arrival.body["message"].startswith("Welcome to the club, Ann!")
    endpoint_id = added[0].split()[2]
    assert run(database_url, "webhooks", "remove", endpoint_id).strip() == (
        f"removed {endpoint_id}")
    assert run(database_url, "webhooks", "list") == ""


def test_an_unknown_channel_is_refused_with_a_clear_error(database_url: str) -> None:
    result = CliRunner().invoke(main, ["webhooks", "add", "https://x.example.com",
                                       "--channel", "fax"],
                                env={"LOYALTY_DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "unknown channel 'fax'" in result.stderr


def test_the_delivery_unit_runs_deliver_with_options_the_command_accepts() -> None:
    service = unit("loyalty-deliver.service")["Service"]
    args = installed_command(service["ExecStart"])
    assert args[0] == "deliver"
    assert parsed(args).params["batch"] == 50
    assert service["Restart"] == "always" and service["UMask"] == "0077"
