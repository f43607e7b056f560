"""`loyalty rules backtest`: the report as a table, JSON or a page, split over processes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from loyalty.cli import main
from loyalty.engine import read_rule_dir
from loyalty.services.context import ServiceContext
from tests.conftest import RULES_DIR
from tests.integration.helpers import KITCHEN_DOUBLE, T0, enrol, give_back, purchase


@pytest.fixture
def draft(tmp_path: Path) -> Path:
    folder = tmp_path / "draft"
    folder.mkdir()
    for name, text in {**read_rule_dir(RULES_DIR),
                       "kitchen-double.yaml": KITCHEN_DOUBLE}.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def run(ctx: ServiceContext, database_url: str):  # type: ignore[no-untyped-def]
    env = {"LOYALTY_DATABASE_URL": database_url, "LOYALTY_RULES_DIR": str(RULES_DIR)}
    for n, member in enumerate(("M-1", "M-2", "M-3", "M-4")):
        enrol(ctx, member)
        purchase(ctx, f"T-{n}", [("PAN-1", "kitchen", 2, "300"), ("TV-1", "tv", 1, "999")],
                 member_id=member, at=T0 + timedelta(hours=n))
    give_back(ctx, "T-9", "T-0", [("PAN-1", 1)], member_id="M-1", at=T0 + timedelta(days=1))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, ["rules", "backtest", *args], env=env)

    return invoke


PERIOD = ("--from", (T0 - timedelta(days=1)).date().isoformat(),
          "--to", (T0 + timedelta(days=2)).date().isoformat())


def test_the_table_names_the_extra_cost(run, draft: Path) -> None:  # type: ignore[no-untyped-def]
    result = run(str(draft), *PERIOD, "--quiet")
    assert result.exit_code == 0, result.output
    assert "kitchen-double" in result.output
    assert "Replaying the rules in force reproduces the recorded ledger" in result.output


def test_json_and_the_same_figures_from_two_processes(run, draft: Path) -> None:  # type: ignore[no-untyped-def]
    one = run(str(draft), *PERIOD, "--format", "json", "--quiet")
    assert one.exit_code == 0, one.output
    report = json.loads(one.stdout)
    # four purchases with 600 CNY of pans earn 600 more each; one pan of T-0 (300 of its
    # 1599 CNY) is returned: 300/1599 of its 2799 points in force, of its 3399 in the draft
    assert report["totals"]["draft"]["points_issued"] - report["totals"]["against"][
        "points_issued"] == 2400
    assert report["totals"]["against"]["points_clawed_back"] == 2799 * 300 // 1599 == 525
    assert report["totals"]["draft"]["points_clawed_back"] == 3399 * 300 // 1599 == 637
    assert report["points_difference"] == 2400 - (637 - 525)
    assert report["cost_difference"] == "22.88"
    assert report["differing_decisions"] == 5
    two = run(str(draft), *PERIOD, "--format", "json", "--jobs", "2")
    assert two.exit_code == 0, two.output
    merged = json.loads(two.stdout)
    for key in ("totals", "differing_decisions", "points_difference", "cost_difference",
                "per_rule", "per_tier", "per_day", "occurrences", "replay_check"):
        assert merged[key] == report[key], key
    assert merged["period"]["shard"] == "2 shards"


def test_the_page_is_written_to_a_file(run, draft: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "report.html"
    result = run(str(draft), *PERIOD, "--format", "html", "--output", str(page), "--quiet")
    assert result.exit_code == 0, result.output
    assert page.read_text().count("Plotly.newPlot(") == 2


def test_bad_drafts_and_options_are_refused_plainly(run, draft: Path) -> None:  # type: ignore[no-untyped-def]
    (draft / "earning.yaml").write_text("ruleset: earning\non: [purchase]\nrules: [{id: x}]\n")
    broken = run(str(draft), *PERIOD)
    assert broken.exit_code == 1
    assert "problem(s) in the draft rule files" in broken.output
    assert run(str(draft), *PERIOD, "--shard", "3/2").exit_code == 2
    assert run("/nowhere", *PERIOD).exit_code == 2
    reversed_period = run(str(draft), "--from", "2026-12-01", "--to", "2026-11-01")
    assert reversed_period.exit_code == 2
    assert "The period ends before it starts." in reversed_period.output


def test_reading_the_history_does_not_wait_for_a_till(run, ctx: ServiceContext) -> None:  # type: ignore[no-untyped-def]
    """A backtest only reads: while a till's write transaction is open, the history and the
    shared counters are read without waiting for it (on SQLite: no write lock taken)."""
    from datetime import UTC, datetime

    from loyalty.store.history import HistoryReader, SharedCounters

    with ctx.uow() as uow:
        uow.members.update("M-1", tags=["busy"])  # a write in progress, not committed
        reader = HistoryReader(ctx.engine)
        assert reader.count() == len(list(reader.items())) == 9
        assert reader.returned_purchases() == {"T-0"}
        shared = SharedCounters(ctx.engine)
        assert shared.budget("base-earn", datetime(2100, 1, 1, tzinfo=UTC)) > 0
        assert shared.budget("base-earn", datetime(2000, 1, 1, tzinfo=UTC)) == 0
