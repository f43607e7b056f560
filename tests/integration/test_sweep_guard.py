"""A sweep dated ahead of the clock is refused unless asked for explicitly: run early, it
expires points and moves members for good. The service refuses it, so the command line and
the API answer alike; a refused sweep changes nothing at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from loyalty.cli import main
from loyalty.domain.errors import ValidationFailed
from loyalty.services.context import ServiceContext
from loyalty.services.sweep import run_sweep
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, points, purchase

Auth = Callable[[str], dict[str, str]]
SWEEPS = "/api/v1/sweeps"
MUG = ("MUG", "homeware", 1, "100.00")
#: The service clock: a month after the purchases, their points available to spend.
NOW = T0 + timedelta(days=30)
TYPO = datetime(2030, 1, 1, tzinfo=UTC)  # meant 2026-01-01
MEMBERS = [f"M-{i:03d}" for i in range(5)]
#: After a sweep as of 2030-01-01: every point expired, and the 200 points of the 2029
#: anniversary waiting; nobody has bought for years.
CHURNED = {m: (0, 200, "churned") for m in MEMBERS}


@pytest.fixture
def programme(ctx: ServiceContext) -> list[str]:
    """Five members who bought a mug; a sweep has released their points."""
    ctx.clock = lambda: T0
    for member_id in MEMBERS:
        enrol(ctx, member_id)
        purchase(ctx, f"S-{member_id}", [MUG], member_id=member_id)
    ctx.clock = lambda: NOW
    run_sweep(ctx, NOW)
    assert [points(ctx, m)["available"] for m in MEMBERS] == [200] * len(MEMBERS)
    return MEMBERS


def everything(ctx: ServiceContext) -> dict[str, list[Any]]:
    """Every row of every table, in a stable order."""
    with ctx.engine.connect() as conn:
        return {table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
                for table in t.metadata.sorted_tables}


def balances(ctx: ServiceContext) -> dict[str, tuple[int, int, str]]:
    """Each member's points to spend, points waiting and lifecycle stage, as the till sees."""
    m = t.members.c
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(m.member_id, m.points_available, m.points_pending,
                                   m.lifecycle_stage).order_by(m.member_id)).all()
    return {row.member_id: (row.points_available, row.points_pending, row.lifecycle_stage)
            for row in rows}


def test_a_sweep_one_hour_ahead_runs(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, programme: list[str]
) -> None:
    as_of = NOW + timedelta(hours=1)
    response = client.post(SWEEPS, json={"as_of": as_of.isoformat()}, headers=auth("admin"))
    assert response.status_code == 201, response.json
    assert response.json["phases"]["points"]["members"] == len(programme)


def test_a_sweep_up_to_the_future_tolerance_runs_and_not_a_second_more(
    ctx: ServiceContext, programme: list[str]
) -> None:
    before = everything(ctx)
    with pytest.raises(ValidationFailed) as refused:
        run_sweep(ctx, NOW + timedelta(hours=24, seconds=1), allow_future=False)
    assert refused.value.details == {"fields": {"as_of": [refused.value.message]}}
    assert "is 24.0 hours ahead of now" in refused.value.message
    assert everything(ctx) == before
    report = run_sweep(ctx, NOW + timedelta(hours=24), allow_future=False)
    assert report["phases"]["points"]["members"] == len(programme)


def test_a_sweep_dated_years_ahead_is_refused_and_changes_nothing(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, programme: list[str]
) -> None:
    admin = auth("admin")
    before, seen = everything(ctx), balances(ctx)
    response = client.post(SWEEPS, json={"as_of": TYPO.isoformat()}, headers=admin)
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    days = (TYPO - NOW).days
    message = (f"as_of 2030-01-01T00:00:00+00:00 is {days} days ahead of now, more than the "
               "24 hours a sweep may run ahead; a sweep ahead of time expires points and moves "
               'members early and cannot be undone; pass "allow_future": true if this is '
               "intended.")
    assert response.json["message"] == message
    assert response.json["details"] == {"fields": {"as_of": [message]}}
    assert balances(ctx) == seen
    assert everything(ctx) == before
    assert [points(ctx, m)["available"] for m in programme] == [200] * len(programme)


def test_a_sweep_years_ahead_runs_when_allowed(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, programme: list[str]
) -> None:
    response = client.post(SWEEPS, json={"as_of": TYPO.isoformat(), "allow_future": True},
                           headers=auth("admin"))
    assert response.status_code == 201, response.json
    assert response.json["phases"]["points"]["points_expired"] == 200 * len(programme)
    assert balances(ctx) == CHURNED
    assert verify_ledger(ctx) == []


def test_allow_future_must_be_a_yes_or_no(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, programme: list[str]
) -> None:
    admin = auth("admin")
    before = everything(ctx)
    response = client.post(SWEEPS, json={"as_of": TYPO.isoformat(), "allow_future": "maybe"},
                           headers=admin)
    assert response.status_code == 422, response.json
    assert list(response.json["details"]["fields"]) == ["allow_future"]
    assert everything(ctx) == before


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", database_url)
    monkeypatch.setenv("LOYALTY_RULES_DIR", str(RULES_DIR))


def test_the_command_refuses_a_sweep_years_ahead_with_exit_code_2(
    ctx: ServiceContext, programme: list[str], cli_env: None
) -> None:
    before = everything(ctx)
    result = CliRunner().invoke(main, ["sweep", "--as-of", "2030-01-01"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert re.fullmatch(
        r"error: --as-of 2030-01-01T00:00:00\+00:00 is \d+ days ahead of now, more than the "
        r"24 hours a sweep may run ahead; a sweep ahead of time expires points and moves "
        r"members early and cannot be undone; pass --allow-future if this is intended\.\n",
        result.stderr), result.stderr
    assert everything(ctx) == before


def test_the_command_sweeps_years_ahead_with_allow_future(
    ctx: ServiceContext, programme: list[str], cli_env: None
) -> None:
    result = CliRunner().invoke(main, ["sweep", "--as-of", "2030-01-01", "--allow-future",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    assert balances(ctx) == CHURNED


def test_the_command_sweeps_an_hour_ahead(
    ctx: ServiceContext, programme: list[str], cli_env: None
) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    result = CliRunner().invoke(main, ["sweep", "--as-of", soon.isoformat(), "--quiet"])
    assert result.exit_code == 0, result.output
    assert '"points"' in result.stdout
