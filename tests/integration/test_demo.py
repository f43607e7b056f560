"""`loyalty demo`: a pack's programme built through the write path, the same for a seed, shown
by the reports; refused, with nothing written, where it does not belong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import func, select

from loyalty.cli import main
from loyalty.demo import observe
from loyalty.packs import pack_dir, pack_names
from loyalty.services.context import ServiceContext
from loyalty.services.verify import verify_ledger
from loyalty.store.tables import metadata
from tests.conftest import emptied, on_postgres
from tests.integration.helpers import enrol

START = "2025-01-01"
#: Members in a demo of a test: enough for a top, lapsed members and comebacks.
SMALL = "40"


def demo(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", url)
    return CliRunner().invoke(main, ["demo", *args], catch_exceptions=False)


def summary_line(result: Result, start: str) -> str:
    return next(line for line in result.stdout.splitlines() if line.startswith(start))


def table_counts(ctx: ServiceContext) -> dict[str, int]:
    with ctx.uow(read_only=True) as uow:
        return {table.name: int(uow.connection.execute(
            select(func.count()).select_from(table)).scalar_one())
            for table in metadata.sorted_tables}


@pytest.fixture
def app_config(database_url: str) -> dict[str, Any]:
    """The app reads the retail pack's folder (a database without rules starts with it)."""
    return {"database_url": database_url, "rules_dir": str(pack_dir("retail")),
            "rules_refresh_seconds": 0.0, "key_cache_seconds": 0.0}


def test_the_same_seed_builds_the_same_ledger_in_a_fresh_database(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("--pack", "retail", "--members", "20", "--seed", "11", "--start", START, "--quiet")
    first = demo(database_url, monkeypatch, *args)
    assert first.exit_code == 0, first.output
    second_url = emptied(database_url) if on_postgres() else f"sqlite:///{tmp_path}/second.db"
    second = demo(second_url, monkeypatch, *args)
    assert second.exit_code == 0, second.output
    for line in ("recorded:", "events:", "pyramid:", "offers:", "ledger:"):
        assert summary_line(first, line) == summary_line(second, line)


@pytest.mark.parametrize("pack", pack_names())
def test_a_small_demo_shows_the_top_of_the_pyramid_lapsed_members_and_winback_offers(
    pack: str, database_url: str, ctx: ServiceContext, client: FlaskClient,
    auth: Callable[[str], dict[str, str]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = demo(database_url, monkeypatch, "--pack", pack, "--members", SMALL,
                  "--start", START)
    assert result.exit_code == 0, result.output
    assert "pack activated first" in result.stdout
    overview = client.get("/api/v1/reports/overview", headers=auth("marketing")).get_json()
    winback = client.get("/api/v1/reports/winback", headers=auth("marketing")).get_json()
    assert overview["members"] == int(SMALL)
    assert overview["vip"] >= 1
    assert overview["pyramid"][0]["members"] >= 1  # the top tier is not empty
    assert observe.top_share(observe.spend_by_member(ctx)) > 0.5
    assert overview["lifecycle"].get("lapsed", 0) >= 1
    assert sum(offer["issued"] for offer in winback["offers"]) >= 1
    assert sum(offer["used"] for offer in winback["offers"]) >= 1
    assert verify_ledger(ctx) == []


def test_a_database_with_members_is_refused_and_nothing_is_written(
    database_url: str, ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol(ctx, "M-1001")
    before = table_counts(ctx)
    result = demo(database_url, monkeypatch, "--pack", "retail", "--members", "5")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "already holds 1 member:" in result.stderr
    assert table_counts(ctx) == before


def test_a_database_whose_rules_are_another_packs_is_refused_and_nothing_is_written(
    database_url: str, ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx.book()  # the app's first use activates the retail pack
    before = table_counts(ctx)
    other = next(name for name in pack_names() if name != "retail")
    result = demo(database_url, monkeypatch, "--pack", other, "--members", "5",
                  "--start", START)
    assert result.exit_code == 1
    assert f"are not the {other} pack's files" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert table_counts(ctx) == before


def test_a_demo_that_would_end_after_today_is_refused(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = datetime.now(UTC).date().isoformat()
    result = demo(f"sqlite:///{tmp_path}/late.db", monkeypatch, "--pack", "retail",
                  "--start", today)
    assert result.exit_code == 1
    assert "after today" in result.stderr
