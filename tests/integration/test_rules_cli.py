"""`loyalty rules explain` with stored members, purchases and versions; `loyalty rules show`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from loyalty.cli import main
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, give_back, purchase


@pytest.fixture
def run(ctx: ServiceContext, database_url: str):  # type: ignore[no-untyped-def]
    env = {"LOYALTY_DATABASE_URL": database_url, "LOYALTY_RULES_DIR": str(RULES_DIR)}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["rules", *args], env=env)

    return invoke


def _write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_explain_a_stored_purchase_for_its_member(run, ctx: ServiceContext) -> None:  # type: ignore[no-untyped-def]
    enrol(ctx)
    purchase(ctx, "T-1", [("PAN-1", "kitchen", 1, "300")])
    result = run("explain", "--transaction-id", "T-1")
    assert result.exit_code == 0, result.output
    assert "rules version 1" in result.output
    assert "base-earn" in result.output
    assert "kitchen-bonus" in result.output
    assert "note:" not in result.output  # payment methods and offer codes are stored


def test_explaining_a_recorded_purchase_gives_what_was_recorded(run, ctx: ServiceContext) -> None:  # type: ignore[no-untyped-def]
    """The purchase is decided as its member stood just before it: it does not count in its
    own statistics, so a first appliance purchase keeps its cross-category bonus."""
    enrol(ctx)
    purchase(ctx, "T-1", [("PAN-1", "kitchen", 1, "300")], at=T0)
    purchase(ctx, "T-2", [("WASHER-1", "appliances", 1, "2000")], at=T0 + timedelta(hours=1))
    recorded = ledger_rules(ctx, "T-2")
    assert recorded["cross-category-bonus"] == 200
    for args in (("--transaction-id", "T-2"), ("--transaction-id", "T-2", "--version", "1")):
        result = run("explain", *args)
        assert result.exit_code == 0, result.output
        fired = {line.split(" ", 1)[0]: line for line in result.output.splitlines()[1:]}
        assert set(fired) == set(recorded)
        assert "award 200 points" in fired["cross-category-bonus"]


def test_every_source_the_ledger_names_can_be_explained(run, ctx: ServiceContext) -> None:  # type: ignore[no-untyped-def]
    enrol(ctx)
    purchase(ctx, "T-1", [("PAN-1", "kitchen", 2, "300")])
    give_back(ctx, "T-2", "T-1", [("PAN-1", 1)], at=T0 + timedelta(days=1))
    welcome = run("explain", "--event-id", "enrolment:M-1001")
    assert welcome.exit_code == 0, welcome.output
    assert "welcome-reward" in welcome.output
    returned = run("explain", "--transaction-id", "T-2")
    assert returned.exit_code == 0, returned.output
    assert "points.clawback: return of 50.0% of purchase T-1 (-900 points)" in returned.output
    assert "No rule fired" not in returned.output
    missing = run("explain", "--event-id", "E-404")
    assert missing.exit_code == 2
    assert missing.output.strip() == "error: nothing recorded as 'E-404'"


def ledger_rules(ctx: ServiceContext, source_id: str) -> dict[str, int]:
    e = t.ledger_entries.c
    with ctx.engine.connect() as conn:
        return {rule: int(points) for rule, points in conn.execute(
            select(e.rule_id, func.sum(e.points))
            .where(e.source_id == source_id, e.kind == "earn").group_by(e.rule_id))}


def test_explain_says_when_a_limit_would_stop_a_rule(run, ctx: ServiceContext,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    enrol(ctx)
    event = _write(tmp_path, "e.json", {"kind": "enrolment",
                                         "occurred_at": T0.isoformat()})
    result = run("explain", "--event", event, "--member-id", "M-1001")
    assert result.exit_code == 0, result.output
    assert "welcome-reward" in result.output
    assert "note: welcome-reward matched, but its limit (1 time per member) is reached" in (
        result.output)


def test_explain_against_a_stored_version(run, ctx: ServiceContext, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    enrol(ctx)
    event = _write(tmp_path, "e.json", {"occurred_at": T0.isoformat(),
                                         "lines": [{"sku": "A", "category": "toys",
                                                    "unit_price": 10}]})
    result = run("explain", "--event", event, "--member-id", "M-1001", "--version", "1")
    assert result.exit_code == 0, result.output
    assert "rules version 1" in result.output
    assert "award 10 points" in result.output
    missing = run("explain", "--event", event, "--member-id", "M-1001", "--version", "9")
    assert missing.exit_code == 2
    assert missing.output.strip() == "error: no rules version 9"


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"lines": []}', "missing field 'occurred_at'"),
    ('{"occurred_at": "yesterday"}', "Invalid isoformat"),
])
def test_bad_event_file_is_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    event = _write(tmp_path, "e.json", text)
    member = _write(tmp_path, "m.json", {"member_id": "M-1"})
    result = CliRunner().invoke(main, ["rules", "explain", "--event", event, "--member", member,
                                       "--rules", str(RULES_DIR)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_member_id_is_refused(run, ctx: ServiceContext, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    event = _write(tmp_path, "e.json", {"occurred_at": T0.isoformat()})
    result = run("explain", "--event", event, "--member-id", "NOBODY")
    assert result.exit_code == 2
    assert result.output.strip() == "error: no member 'NOBODY'"


def test_show_prints_the_files_of_a_version(run, ctx: ServiceContext) -> None:  # type: ignore[no-untyped-def]
    enrol(ctx)  # the first use activates the bundled rules as version 1
    result = run("show", "1")
    assert result.exit_code == 0, result.output
    assert "# ---- earning.yaml" in result.output
    assert "id: base-earn" in result.output
    one = run("show", "1", "welcome.yaml")
    assert "# ---- welcome.yaml" in one.output and "earning.yaml" not in one.output
    assert run("show", "7").exit_code == 1


def test_explain_sees_budgets_as_all_members_had_left_them(run, ctx: ServiceContext) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.helpers import spring_campaign, use_rules

    use_rules(ctx, spring=spring_campaign(150))
    enrol(ctx, "M-1")
    enrol(ctx, "M-2")
    purchase(ctx, "T-1", [("PAN-1", "kitchen", 1, "300")], member_id="M-1")
    purchase(ctx, "T-2", [("PAN-1", "kitchen", 1, "300")], member_id="M-2",
             at=T0 + timedelta(hours=1))
    assert set(ledger_rules(ctx, "T-1")) >= {"spring-a", "spring-b"}
    assert not set(ledger_rules(ctx, "T-2")) & {"spring-a", "spring-b"}
    first = run("explain", "--transaction-id", "T-1")
    assert "spring-a" in first.output and "budget" not in first.output
    second = run("explain", "--transaction-id", "T-2")
    assert second.exit_code == 0, second.output
    assert "note: spring-a matched, but its budget of 150 points is spent" in second.output
