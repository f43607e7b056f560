"""`loyalty sweep` from the command line: shards in separate runs, and a progress bar that
counts what is left after a resume."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from loyalty.cli import main
from loyalty.services.context import ServiceContext
from loyalty.services.sweep import Shard, run_sweep
from loyalty.services.sweep.points import PointsPhase
from loyalty.services.sweep.runner import remaining_work
from loyalty.services.verify import verify_ledger
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, Interrupting, enrol, points, purchase

MUG = ("MUG", "homeware", 1, "100.00")
AS_OF = T0 + timedelta(days=15)


@pytest.fixture
def members(ctx: ServiceContext) -> list[str]:
    ctx.clock = lambda: T0
    ids = [f"M-{i:03d}" for i in range(9)]
    for member_id in ids:
        enrol(ctx, member_id)
        purchase(ctx, f"S-{member_id}", [MUG], member_id=member_id)
    return ids


def test_two_shards_swept_from_the_command_line_cover_every_member_once(
    ctx: ServiceContext, members: list[str], database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", database_url)
    monkeypatch.setenv("LOYALTY_RULES_DIR", str(RULES_DIR))
    reports = []
    for shard in ("1/2", "2/2"):
        result = CliRunner().invoke(main, ["sweep", "--as-of", AS_OF.isoformat(), "--shard",
                                           shard, "--batch-size", "2", "--allow-future"])
        assert result.exit_code == 0, result.output
        reports.append(json.loads(result.stdout[result.stdout.index("{"):]))
    assert [r["shard"] for r in reports] == ["1/2", "2/2"]
    # a member's shard is fixed by their id: crc32(member_id) % 1024 % 2
    assert [r["phases"]["points"]["members"] for r in reports] == [4, 5]
    assert [r["phases"]["points"]["lots_activated"] for r in reports] == [4, 5]
    assert [points(ctx, m, as_of=AS_OF)["pending"] for m in members] == [0] * len(members)
    assert verify_ledger(ctx) == []


def test_after_a_resume_the_progress_counts_only_what_is_left(
    ctx: ServiceContext, members: list[str]
) -> None:
    with pytest.raises(KeyboardInterrupt):
        run_sweep(ctx, AS_OF, phases=[Interrupting()], batch_size=4)
    left = remaining_work(ctx, AS_OF, Shard(), ["points"])
    assert left == len(members) - 4
    done: list[int] = []
    run_sweep(ctx, AS_OF, phases=[PointsPhase()], batch_size=4,
              progress=lambda _phase, n: done.append(n))
    assert sum(done) == left
    assert remaining_work(ctx, AS_OF, Shard(), ["points"]) == 0
