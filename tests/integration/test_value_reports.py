"""The value reports over a hand-made programme: the pyramid's revenue per tier and value band
and the top fifth's share (the 80/20 check), the value matrix and the lifecycle month by month
from the sweep's monthly snapshots, taken once a month whatever the number of sweeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, update

from loyalty.domain.commands import EnrolMember
from loyalty.domain.errors import ValidationFailed
from loyalty.services import members
from loyalty.services.context import ServiceContext
from loyalty.services.sweep import run_sweep
from loyalty.services.sweep.snapshots import SnapshotPhase
from loyalty.services.value_reports import lifecycle, pyramid, value_matrix
from loyalty.store import tables as t
from tests.integration.helpers import T0, enrol, give_back, purchase

Auth = Callable[[str], dict[str, str]]
m = t.members.c
OTHERS = [f"M-{n:02d}" for n in range(4, 11)]


def day(month: int, dom: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, dom, tzinfo=UTC)


def join(ctx: ServiceContext, member_id: str, at: datetime) -> None:
    """A member who joined at `at`."""
    members.enrol(ctx, EnrolMember(member_id=member_id, name="Dan", enrolled_at=at))


def programme(ctx: ServiceContext) -> None:
    """Ten members who joined 400 days before T0. Ann (M-01) bought a sofa and chairs for
    60,000 and returned the chairs (8,000) five days ago; Bob (M-02) bought for 10,000 380 days
    ago (outside the year) and 25,000 50 days ago; Cai (M-03) 6,000 20 days ago; seven others
    1,000 each ten days ago. Over the year up to T0: 52,000 + 25,000 + 6,000 + 7,000 = 90,000,
    of which the top fifth (Ann and Bob) brought 77,000."""
    ctx.clock = lambda: T0
    for member_id in ["M-01", "M-02", "M-03", *OTHERS]:
        enrol(ctx, member_id)
    purchase(ctx, "S-ANN", [("SOFA", "furniture", 1, "52000.00"),
                            ("CHAIRS", "furniture", 1, "8000.00")],
             member_id="M-01", at=T0 - timedelta(days=100))
    give_back(ctx, "R-ANN", "S-ANN", [("CHAIRS", 1)], member_id="M-01",
              at=T0 - timedelta(days=5))
    purchase(ctx, "S-BOB-1", [("TV", "electronics", 1, "10000.00")], member_id="M-02",
             at=T0 - timedelta(days=380))
    purchase(ctx, "S-BOB-2", [("FRIDGE", "kitchen", 1, "25000.00")], member_id="M-02",
             at=T0 - timedelta(days=50))
    purchase(ctx, "S-CAI", [("DESK", "furniture", 1, "6000.00")], member_id="M-03",
             at=T0 - timedelta(days=20))
    for member_id in OTHERS:
        purchase(ctx, f"S-{member_id}", [("LAMP", "homeware", 1, "1000.00")],
                 member_id=member_id, at=T0 - timedelta(days=10))


def snapshot(ctx: ServiceContext, at: datetime) -> dict[str, Any]:
    """The month's snapshot, taken by the sweep's last phase alone."""
    report = run_sweep(ctx, at, phases=[SnapshotPhase()], batch_size=4)
    counts: dict[str, Any] = report["phases"]["snapshots"]
    return counts


def stand(ctx: ServiceContext, member_id: str, *, stage: str | None = None,
          segment: str | None = None) -> None:
    """Put a member in a lifecycle stage and value segment, as the sweep and the valuation
    would have."""
    values: dict[str, Any] = {"value_segment": segment}
    if stage is not None:
        values["lifecycle_stage"] = stage
    with ctx.uow() as uow:
        uow.connection.execute(update(t.members).where(m.member_id == member_id)
                               .values(**values))
        uow.commit()


def snapshot_rows(ctx: ServiceContext) -> list[tuple[Any, ...]]:
    s = t.member_snapshots.c
    with ctx.uow(read_only=True) as uow:
        return [tuple(row) for row in uow.connection.execute(
            select(s.month, s.member_id, s.lifecycle_stage, s.value_segment, s.spend_365d,
                   s.previous_stage, s.previous_segment)
            .order_by(s.month, s.member_id))]


# -- the pyramid -------------------------------------------------------------------------------


def test_the_top_fifth_brings_most_of_the_revenue_net_of_returns_over_the_year(
    ctx: ServiceContext,
) -> None:
    programme(ctx)
    report = pyramid(ctx, T0)
    assert (report["as_of"], report["currency"], report["window_days"]) == \
        (T0.isoformat(), "CNY", 365)
    assert (report["members"], report["revenue"]) == (10, "90000.00")
    assert report["top_fifth"] == {"members": 2, "revenue": "77000.00",
                                   "share_of_revenue": 0.8556}
    # ten members: the top 1% and the 1-5% cut round up to the first member, 5-20% to the
    # second, 20-50% to the fifth; ties (1,000 each) are ranked by member id
    assert report["value_bands"] == [
        {"band": "top 1%", "members": 1, "revenue": "52000.00", "share_of_revenue": 0.5778},
        {"band": "1-5%", "members": 0, "revenue": "0.00", "share_of_revenue": 0.0},
        {"band": "5-20%", "members": 1, "revenue": "25000.00", "share_of_revenue": 0.2778},
        {"band": "20-50%", "members": 3, "revenue": "8000.00", "share_of_revenue": 0.0889},
        {"band": "bottom 50%", "members": 5, "revenue": "5000.00", "share_of_revenue": 0.0556},
    ]
    assert report["tiers"] == [
        {"tier": "platinum", "members": 1, "revenue": "52000.00", "share_of_revenue": 0.5778},
        {"tier": "gold", "members": 1, "revenue": "25000.00", "share_of_revenue": 0.2778},
        {"tier": "silver", "members": 1, "revenue": "6000.00", "share_of_revenue": 0.0667},
        {"tier": "member", "members": 7, "revenue": "7000.00", "share_of_revenue": 0.0778},
    ]
    assert report["months"] == []  # no sweep has taken a snapshot yet


def test_the_pyramid_as_of_an_earlier_day_counts_the_year_up_to_that_day(
    ctx: ServiceContext,
) -> None:
    programme(ctx)
    report = pyramid(ctx, T0 - timedelta(days=30))
    # Ann's chairs not returned yet (60,000); Bob's 10,000 of 380 days ago still inside the
    # year (35,000); Cai and the others had not bought yet
    assert (report["members"], report["revenue"]) == (10, "95000.00")
    assert report["top_fifth"] == {"members": 2, "revenue": "95000.00",
                                   "share_of_revenue": 1.0}
    # a member who joins later is not counted before they joined
    join(ctx, "M-LATE", T0)
    assert pyramid(ctx, T0 - timedelta(days=1))["members"] == 10
    assert pyramid(ctx, T0)["members"] == 11


def test_the_month_by_month_top_fifth_share_comes_from_the_monthly_snapshots(
    ctx: ServiceContext,
) -> None:
    programme(ctx)
    assert snapshot(ctx, day(10))["taken"] == 10
    assert snapshot(ctx, day(11))["taken"] == 10
    report = pyramid(ctx, T0, months=3)
    # 1 October: Ann 60,000, Bob 10,000 (the fridge came later), nobody else yet.
    # 1 November: Ann 60,000, Bob 35,000, Cai 6,000 (31 October in UTC).
    assert report["months"] == [
        {"month": "2026-10", "members": 10, "revenue": "70000.00", "top_fifth_share": 1.0},
        {"month": "2026-11", "members": 10, "revenue": "101000.00",
         "top_fifth_share": 0.9406},
    ]
    assert [row["month"] for row in pyramid(ctx, T0, months=1)["months"]] == ["2026-11"]
    assert [row["month"] for row in pyramid(ctx, day(10, 31))["months"]] == ["2026-10"]


def test_a_member_who_returned_more_than_they_bought_in_the_year_ranks_last(
    ctx: ServiceContext,
) -> None:
    """Six members: Ann brought 500; Bob returned, ten days ago, a 1,000 purchase made more
    than a year ago (-1,000 in the year); four bought nothing."""
    ctx.clock = lambda: T0
    for member_id in ("M-ANN", "M-BOB", "M-C", "M-D", "M-E", "M-F"):
        enrol(ctx, member_id)
    purchase(ctx, "S-ANN", [("MUG", "homeware", 1, "500.00")], member_id="M-ANN",
             at=T0 - timedelta(days=3))
    purchase(ctx, "S-BOB", [("TV", "electronics", 1, "1000.00")], member_id="M-BOB",
             at=T0 - timedelta(days=380))
    give_back(ctx, "R-BOB", "S-BOB", [("TV", 1)], member_id="M-BOB",
              at=T0 - timedelta(days=10))
    report = pyramid(ctx, T0)
    assert (report["members"], report["revenue"]) == (6, "-500.00")
    # cuts of six members: 1, 1, 2, 3, 6; Bob is sixth, below the four who spent nothing
    assert [(row["band"], row["members"], row["revenue"], row["share_of_revenue"])
            for row in report["value_bands"]] == [
        ("top 1%", 1, "500.00", None), ("1-5%", 0, "0.00", None), ("5-20%", 1, "0.00", None),
        ("20-50%", 1, "0.00", None), ("bottom 50%", 3, "-1000.00", None)]
    assert report["top_fifth"] == {"members": 2, "revenue": "500.00", "share_of_revenue": None}


# -- snapshots -------------------------------------------------------------------------------


def test_a_month_is_snapshot_once_and_later_sweeps_of_the_month_add_only_new_members(
    ctx: ServiceContext,
) -> None:
    programme(ctx)
    assert snapshot(ctx, day(11, 2))["taken"] == 10
    first = snapshot_rows(ctx)
    stand(ctx, "M-01", stage="lapsed", segment="keep")  # changes after the snapshot
    assert snapshot(ctx, day(11, 3)).get("taken", 0) == 0
    assert snapshot_rows(ctx) == first
    join(ctx, "M-NEW", day(11, 10))
    assert snapshot(ctx, day(11, 9)).get("taken", 0) == 0  # not a member yet
    assert snapshot(ctx, day(11, 11))["taken"] == 1
    assert snapshot(ctx, day(11, 11))["taken"] == 1  # the same run again: nothing new
    assert len(snapshot_rows(ctx)) == 11


def test_a_merged_member_is_not_snapshot(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    enrol(ctx, "M-01")
    enrol(ctx, "M-02")
    with ctx.uow() as uow:
        uow.connection.execute(update(t.members).where(m.member_id == "M-02")
                               .values(merged_into="M-01", merged_at=T0))
        uow.commit()
    snapshot(ctx, day(11))
    assert [row[1] for row in snapshot_rows(ctx)] == ["M-01"]


# -- the value matrix and the lifecycle, month by month -------------------------------------------


def months_of_movement(ctx: ServiceContext) -> None:
    """Three members over three months: Ann grows into keep and stays; Bob slips from keep to
    maintain and from growing to declining, then lapses; Cai is valued only in October. Dan
    joins in October."""
    ctx.clock = lambda: T0
    for member_id in ("M-ANN", "M-BOB", "M-CAI"):
        enrol(ctx, member_id)
    stand(ctx, "M-ANN", stage="growing", segment="grow")
    stand(ctx, "M-BOB", stage="growing", segment="keep")
    stand(ctx, "M-CAI", stage="mature")
    snapshot(ctx, day(9, 2))
    stand(ctx, "M-ANN", segment="keep")
    stand(ctx, "M-BOB", stage="declining", segment="maintain")
    stand(ctx, "M-CAI", segment="reduce-cost")
    join(ctx, "M-DAN", day(10, 1))
    stand(ctx, "M-DAN", stage="new")
    snapshot(ctx, day(10, 1))
    stand(ctx, "M-BOB", stage="lapsed", segment="maintain")
    snapshot(ctx, day(11, 1))


def test_the_value_matrix_shows_members_moving_between_quadrants_month_by_month(
    ctx: ServiceContext,
) -> None:
    months_of_movement(ctx)
    report = value_matrix(ctx, T0, months=3)
    assert [(row["month"], row["counts"], row["unvalued"], row["joined"])
            for row in report["months"]] == [
        ("2026-09", {"keep": 1, "grow": 1, "maintain": 0, "reduce-cost": 0}, 1, 3),
        ("2026-10", {"keep": 1, "grow": 0, "maintain": 1, "reduce-cost": 1}, 1, 1),
        ("2026-11", {"keep": 1, "grow": 0, "maintain": 1, "reduce-cost": 1}, 1, 0),
    ]
    september, october, november = report["months"]
    assert september["moves"] == []
    assert sorted(october["moves"], key=str) == sorted([
        {"from": "grow", "to": "keep", "members": 1},
        {"from": "keep", "to": "maintain", "members": 1},
        {"from": None, "to": "reduce-cost", "members": 1},
    ], key=str)
    assert sorted(november["moves"], key=str) == sorted([
        {"from": "keep", "to": "keep", "members": 1},
        {"from": "maintain", "to": "maintain", "members": 1},
        {"from": "reduce-cost", "to": "reduce-cost", "members": 1},
        {"from": None, "to": None, "members": 1},
    ], key=str)
    # where members stand now, with the quadrant each segment name stands for
    assert [(row["quadrant"], row["segment"], row["members"]) for row in report["segments"]] \
        == [("keep", "keep", 1), ("grow", "grow", 0), ("maintain", "maintain", 1),
            ("reduce_cost", "reduce-cost", 1)]
    assert report["unvalued"] == 1


def test_the_lifecycle_flow_shows_members_moving_between_stages_month_by_month(
    ctx: ServiceContext,
) -> None:
    months_of_movement(ctx)
    report = lifecycle(ctx, T0, months=2)
    assert [row["month"] for row in report["months"]] == ["2026-10", "2026-11"]
    october, november = report["months"]
    assert {k: v for k, v in october["stages"].items() if v} == \
        {"new": 1, "growing": 1, "mature": 1, "declining": 1}
    assert october["joined"] == 1
    assert sorted(october["flows"], key=str) == sorted([
        {"from": "growing", "to": "growing", "members": 1},
        {"from": "growing", "to": "declining", "members": 1},
        {"from": "mature", "to": "mature", "members": 1},
    ], key=str)
    assert {"from": "declining", "to": "lapsed", "members": 1} in november["flows"]
    assert {row["stage"]: row["members"] for row in report["stages"] if row["members"]} == \
        {"new": 1, "growing": 1, "mature": 1, "lapsed": 1}


# -- an empty programme, the edges, and the cost ---------------------------------------------------


def test_an_empty_programme_gives_zeros_and_no_shares(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    report = pyramid(ctx)
    assert (report["members"], report["revenue"], report["months"]) == (0, "0.00", [])
    assert report["top_fifth"] == {"members": 0, "revenue": "0.00", "share_of_revenue": None}
    assert [row["tier"] for row in report["tiers"]] == ["platinum", "gold", "silver", "member"]
    assert all(row["members"] == 0 and row["share_of_revenue"] is None
               for row in report["tiers"] + report["value_bands"])
    matrix = value_matrix(ctx)
    assert (matrix["unvalued"], matrix["months"], matrix["valued_at"]) == (0, [], None)
    assert all(row["members"] == 0 for row in matrix["segments"])
    flow = lifecycle(ctx)
    assert flow["months"] == [] and all(row["members"] == 0 for row in flow["stages"])


def test_a_number_of_months_outside_1_to_36_is_refused(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    for months in (0, 37):
        with pytest.raises(ValidationFailed, match="months"):
            pyramid(ctx, months=months)


def test_each_report_costs_the_same_few_statements_whatever_the_number_of_members(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0

    def statements(report: Callable[..., Any]) -> int:
        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if "member" in statement:
                seen.append(statement)

        event.listen(ctx.engine, "before_cursor_execute", count)
        try:
            report(ctx, T0)
        finally:
            event.remove(ctx.engine, "before_cursor_execute", count)
        return len(seen)

    enrol(ctx, "M-01")
    snapshot(ctx, day(10))
    few = {report: statements(report) for report in (pyramid, value_matrix, lifecycle)}
    for n in range(2, 12):
        enrol(ctx, f"M-{n:02d}")
    snapshot(ctx, day(11))
    assert {report: statements(report) for report in (pyramid, value_matrix, lifecycle)} == few
    assert few == {pyramid: 4, value_matrix: 2, lifecycle: 2}
    with ctx.uow(read_only=True) as uow:
        assert uow.connection.execute(
            select(func.count()).select_from(t.member_snapshots)).scalar_one() == 12


# -- the API -----------------------------------------------------------------------------------


def test_marketing_reads_the_reports_and_a_till_may_not(
    ctx: ServiceContext, client: FlaskClient, auth: Auth,
) -> None:
    programme(ctx)
    for name in ("pyramid", "value-matrix", "lifecycle"):
        refused = client.get(f"/api/v1/reports/{name}", headers=auth("pos"))
        assert (refused.status_code, refused.get_json()["code"]) == (403, "forbidden")
        response = client.get(f"/api/v1/reports/{name}?months=36", headers=auth("marketing"))
        assert response.status_code == 200, response.get_json()
    body = client.get("/api/v1/reports/pyramid", headers=auth("marketing")).get_json()
    assert body["top_fifth"] == {"members": 2, "revenue": "77000.00",
                                 "share_of_revenue": 0.8556}
    earlier = (T0 - timedelta(days=30)).isoformat().replace("+", "%2B")
    body = client.get(f"/api/v1/reports/pyramid?as_of={earlier}",
                      headers=auth("marketing")).get_json()
    assert body["revenue"] == "95000.00"


@pytest.mark.parametrize("query", [
    "months=0", "months=37", "months=twelve", "months=1.5", "months=", "as_of=yesterday",
    "as_of=2026-11-20T00:00:00", "weeks=3",
])
def test_a_report_asked_for_with_a_bad_query_is_refused(
    client: FlaskClient, auth: Auth, query: str,
) -> None:
    for name in ("pyramid", "value-matrix", "lifecycle"):
        response = client.get(f"/api/v1/reports/{name}?{query}", headers=auth("marketing"))
        assert response.status_code == 422, (name, query, response.get_json())
        assert response.get_json()["code"] == "validation_error"
