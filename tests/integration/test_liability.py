"""The points liability report: outstanding points by bucket and their value, what expires
soon, and the redemption rate, over every member at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from loyalty.engine import read_rule_dir
from loyalty.services.context import ServiceContext
from loyalty.services.liability import liability
from loyalty.services.sweep import run_sweep
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, give_back, purchase, redeem, use_rules

FRIDGE = ("FRIDGE", "kitchen", 1, "3000.00")
MUG = ("MUG", "homeware", 1, "100.00")
Auth = Callable[[str], dict[str, str]]


def small_programme(ctx: ServiceContext) -> None:
    """Two members who joined 400 days ago (100 welcome points each, expiring after 24
    months); Ann earned 9,000 on a refrigerator, spent 2,000 on a check-up, then returned the
    refrigerator and owes what she had spent; Bob bought a mug three days ago."""
    ctx.clock = lambda: T0 - timedelta(days=30)
    enrol(ctx, "M-ANN")
    enrol(ctx, "M-BOB")
    purchase(ctx, "S-FRIDGE", [FRIDGE], member_id="M-ANN", at=T0 - timedelta(days=30))
    ctx.clock = lambda: T0 - timedelta(days=10)
    run_sweep(ctx, T0 - timedelta(days=10))  # the refrigerator's points are spendable
    redeem(ctx, "RD-1", "FREE-CHECKUP", member_id="M-ANN")
    ctx.clock = lambda: T0 - timedelta(days=5)
    give_back(ctx, "R-FRIDGE", "S-FRIDGE", [("FRIDGE", 1)], member_id="M-ANN",
              at=T0 - timedelta(days=5))
    ctx.clock = lambda: T0
    purchase(ctx, "S-MUG", [MUG], member_id="M-BOB", at=T0 - timedelta(days=3))


def test_the_report_values_every_bucket_and_what_expires_and_what_was_redeemed(
    ctx: ServiceContext, client: FlaskClient, auth: Auth,
) -> None:
    small_programme(ctx)
    response = client.get("/api/v1/reports/liability", headers=auth("marketing"))
    assert response.status_code == 200, response.get_json()
    report: dict[str, Any] = response.get_json()
    assert report["as_of"] == T0.isoformat() and report["point_value"] == "0.01"
    # Ann: 9,100 available less 2,000 spent, then the return took 7,100 and left 1,900 owed;
    # Bob: his 100 welcome points, and 100 from the mug inside the return window.
    assert report["outstanding"] == {
        "available": {"points": 100, "value": "1.00"},
        "pending": {"points": 100, "value": "1.00"},
        "debt": {"points": 1900, "value": "19.00"},
    }
    # Bob's welcome points expire 24 months after joining, 330 days from now; the mug's later.
    assert report["expiring"] == [
        {"within_days": 30, "points": 0, "value": "0.00"},
        {"within_days": 90, "points": 0, "value": "0.00"},
        {"within_days": 365, "points": 100, "value": "1.00"},
    ]
    # earned in the last year: 9,000 + 100; ever: with the two welcomes 400 days ago
    assert report["redemption"] == {
        "last_365_days": {"earned": 9100, "redeemed": 2000, "rate": 0.2198},
        "lifetime": {"earned": 9300, "redeemed": 2000, "rate": 0.2151},
    }


def test_the_report_as_of_an_earlier_instant_counts_only_what_had_happened_by_then(
    ctx: ServiceContext,
) -> None:
    small_programme(ctx)
    before = liability(ctx, T0 - timedelta(days=20))
    # the refrigerator's 9,000 still in the return window, nothing redeemed yet
    assert {k: v["points"] for k, v in before["outstanding"].items()} == {
        "available": 200, "pending": 9000, "debt": 0}
    assert before["redemption"]["lifetime"] == {"earned": 9200, "redeemed": 0, "rate": 0.0}
    assert [w["points"] for w in before["expiring"]] == [0, 0, 100]


def test_without_a_point_value_the_report_gives_points_and_no_money(
    ctx: ServiceContext,
) -> None:
    program = read_rule_dir(RULES_DIR)["program.yaml"]
    lines = [line for line in program.splitlines() if not line.startswith("point_value:")]
    use_rules(ctx, program="\n".join(lines) + "\n")
    ctx.clock = lambda: T0
    report = liability(ctx, T0)
    assert report["point_value"] is None
    assert report["outstanding"]["available"] == {"points": 0, "value": None}
    assert report["redemption"]["lifetime"] == {"earned": 0, "redeemed": 0, "rate": None}


def test_the_report_is_refused_to_a_till_and_to_an_as_of_that_is_not_an_instant(
    client: FlaskClient, auth: Auth,
) -> None:
    assert client.get("/api/v1/reports/liability", headers=auth("pos")).status_code == 403
    bad = client.get("/api/v1/reports/liability?as_of=yesterday", headers=auth("marketing"))
    assert bad.status_code == 422, bad.get_json()
    assert bad.get_json()["code"] == "validation_error"
