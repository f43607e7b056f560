"""program.yaml `referrals:` and `transfers:` are checked like every programme value: each
mistake reported with its file and line, nothing else reported."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.engine import build_rulebook, check_rules
from loyalty.engine.loader import read_rule_dir
from tests.conftest import RULES_DIR


def with_program(extra: str) -> dict[str, str]:
    files = read_rule_dir(RULES_DIR)
    program = files["program.yaml"]
    start = program.index("referrals:")
    end = program.index("# Whether a new version")
    return {**files, "program.yaml": program[:start] + extra + "\n" + program[end:]}


def line_of(files: dict[str, str], needle: str) -> int:
    for number, line in enumerate(files["program.yaml"].splitlines(), start=1):
        if line.startswith(needle):
            return number
    raise AssertionError(needle)


def test_the_bundled_programme_declares_both() -> None:
    policy = build_rulebook(read_rule_dir(RULES_DIR), "1").policy
    assert (policy.referrals.min_purchase, policy.referrals.within_days) == (Decimal(100), 90)
    transfers = policy.transfers
    assert (transfers.allowed, transfers.min_points, transfers.max_points,
            transfers.max_per_month) == (True, 100, 50_000, 2)


def test_a_programme_without_them_rewards_any_purchase_and_allows_no_transfer() -> None:
    policy = build_rulebook(with_program(""), "1").policy
    assert (policy.referrals.min_purchase, policy.referrals.within_days) == (Decimal(0), None)
    assert policy.transfers.allowed is False


def test_transfers_allowed_without_limits_move_from_one_point_with_no_ceiling() -> None:
    transfers = build_rulebook(with_program("transfers:\n  allowed: true"), "1").policy.transfers
    assert (transfers.allowed, transfers.min_points, transfers.max_points,
            transfers.max_per_month) == (True, 1, None, None)


def test_a_vip_block_without_a_margin_leaves_vip_as_soon_as_below() -> None:
    files = with_program("")
    files["program.yaml"] = files["program.yaml"].replace("leave_margin_percent: 10", "")
    policy = build_rulebook(files, "1").policy
    assert policy.vip.leave_margin_percent == 0
    assert policy.vip.top_percent == Decimal(5)


@pytest.mark.parametrize(("extra", "needle", "message"), [
    ("referrals:\n  within_days: 0", "  within_days: 0",
     "referrals.within_days must be a whole number from 1 to 3,650, got 0"),
    ("referrals:\n  min_purchase: lots", "  min_purchase: lots",
     "referrals.min_purchase must be a number from 0 to 1,000,000,000,000, got 'lots'"),
    ("referrals:\n  min_spend: 100", "  min_spend: 100",
     "unknown setting 'min_spend' in referrals"),
    ("transfers:\n  allowed: sometimes", "  allowed: sometimes",
     "transfers.allowed is true or false, not 'sometimes'"),
    ("transfers:\n  max_per_month: 2.5", "  max_per_month: 2.5",
     "transfers.max_per_month must be a whole number from 1 to 1,000, got 2.5"),
    ("transfers:\n  allowed: true\n  min_points: 500\n  max_points: 100", "transfers:",
     "transfers.min_points (500) is above transfers.max_points (100): no transfer could be "
     "made"),
    ("referrals: 100", "referrals:", "'referrals' needs its settings as a mapping"),
])
def test_a_mistake_is_reported_with_its_line(extra: str, needle: str, message: str) -> None:
    files = with_program(extra)
    [problem] = check_rules(files)
    assert (problem.file, problem.line, problem.message) == (
        "program.yaml", line_of(files, needle), message)
