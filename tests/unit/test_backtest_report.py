"""How a backtest report reads: as JSON, as a terminal table and as an HTML page."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from plotly.offline import get_plotlyjs

from loyalty.services.backtest_report import (
    NO_POINT_VALUE,
    render_html,
    render_json,
    render_table,
)

HOSTILE = "promo.<script>alert(1)</script>"


def totals(**changes: Any) -> dict[str, Any]:
    plain: dict[str, Any] = {
        "points_issued": 1_222_567, "points_clawed_back": 500, "net_points": 1_222_067,
        "cost": "12220.67", "rewards": 3, "vouchers": 2, "offers_issued": 40, "offers_used": 12,
        "redemptions_refused": 1, "tier_changes": 4, "stock_used": {"R-mug": 1},
    }
    return plain | changes


def days(start: date, count: int, cost: str | None = "0.10") -> list[dict[str, Any]]:
    return [{"date": (start + timedelta(days=n)).isoformat(), "draft_points": 10,
             "against_points": 5, "draft_cost": cost, "against_cost": cost}
            for n in range(count)]


def rule(rule_id: str, draft: int, against: int) -> dict[str, Any]:
    return {"rule_id": rule_id, "draft_points": draft, "against_points": against,
            "difference": draft - against, "draft_cost": f"{draft / 100:.2f}",
            "against_cost": f"{against / 100:.2f}"}


def a_report(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "period": {"from": "2026-11-01T00:00:00+00:00", "to": "2026-11-30T23:59:59+00:00",
                   "ignore_windows": False, "shard": "1/1"},
        "draft": {"label": "rules-draft/ (a1b2c3d4e5)"},
        "against": {"label": "the versions in force (3, 4)"},
        "currency": "CNY",
        "point_value": "0.01",
        "occurrences": {"purchases": 9000, "returns": 500, "events": 400, "redemptions": 100,
                        "members": 1200},
        "totals": {"draft": totals(points_issued=1_234_567, net_points=1_234_067,
                                   cost="12340.67", stock_used={"R-mug": 3}),
                   "against": totals()},
        "differing_decisions": 42,
        "points_difference": 12_000,
        "cost_difference": "120.00",
        "per_rule": [rule("earning.base", 1000, 800), rule("returns.clawback", -300, 0),
                     rule("z.promo", 5000, 0), rule(HOSTILE, 0, 5000)],
        "per_tier": [{"tier": "gold", "draft_points": 7000, "against_points": 4000,
                      "difference": 3000}],
        "per_day": days(date(2026, 11, 1), 30),
        "tier_differences": {"count": 3, "members": [
            {"member_id": "M-1", "draft_tier": "gold", "against_tier": "silver",
             "draft_vip": True, "against_vip": False}]},
        "members_most_affected": [{"member_id": "M-7", "draft_points": 5000,
                                   "against_points": 2500, "difference": 2500}],
        "samples": [{
            "source_id": "T-1", "member_id": "M-1", "kind": "purchase",
            "occurred_at": "2026-11-11T10:00:00+00:00",
            "draft": [{"rule_id": "earning.base", "effect": "earn", "points": 100,
                       "reason": "1 point per CNY <b>spent</b>"},
                      {"rule_id": "tier.check", "effect": "note", "reason": "no change"}],
            "against": [{"rule_id": "earning.base", "effect": "earn", "points": 50,
                         "reason": "half a point per CNY"}],
            "explanation": ["the draft doubles the base rate", "gold members earn on top"],
        }],
        "replay_check": {"compared": 9900, "differences": 0, "examples": []},
    }
    return report | changes


def without_point_value(report: dict[str, Any]) -> dict[str, Any]:
    for side in report["totals"].values():
        side["cost"] = None
    for row in report["per_rule"] + report["per_day"]:
        row["draft_cost"] = row["against_cost"] = None
    return report | {"point_value": None, "cost_difference": None}


def line_starting(text: str, start: str) -> list[str]:
    found = [line for line in text.splitlines() if line.strip().startswith(start)]
    assert len(found) == 1, found
    return found[0].split()


def test_json_round_trips_to_the_same_report_with_its_plain_fields() -> None:
    report = a_report()
    text = render_json(report)
    assert text.endswith("}\n")
    assert text.splitlines()[1].startswith('  "period": {')
    loaded = json.loads(text)
    assert loaded == report
    assert loaded["differing_decisions"] == 42
    assert loaded["cost_difference"] == "120.00"


def test_json_keeps_the_documented_key_order_whatever_order_it_was_given() -> None:
    report = a_report()
    shuffled = dict(reversed(list(report.items())))
    assert list(json.loads(render_json(shuffled))) == list(report)


def test_json_keeps_null_costs_as_null() -> None:
    loaded = json.loads(render_json(without_point_value(a_report())))
    assert loaded["point_value"] is None
    assert loaded["cost_difference"] is None
    assert loaded["totals"]["draft"]["cost"] is None


def test_the_totals_show_both_sides_and_the_difference_with_thousands_separators() -> None:
    text = render_table(a_report())
    assert line_starting(text, "points issued") == ["points", "issued", "1,234,567", "1,222,567",
                                                    "+12,000"]
    assert line_starting(text, "net points") == ["net", "points", "1,234,067", "1,222,067",
                                                 "+12,000"]
    assert line_starting(text, "cost (CNY)") == ["cost", "(CNY)", "12,340.67", "12,220.67",
                                                 "+120.00"]
    assert line_starting(text, "points clawed back") == ["points", "clawed", "back", "500",
                                                         "500", "0"]
    assert line_starting(text, "stock used: R-mug") == ["stock", "used:", "R-mug", "3", "1", "+2"]
    assert "Occurrences whose decisions differ: 42" in text


def test_the_header_names_the_period_both_rule_sets_and_the_occurrences() -> None:
    text = render_table(a_report())
    assert text.startswith("Backtest: rules-draft/ (a1b2c3d4e5) against the versions in force "
                           "(3, 4)\n")
    assert "2026-11-01T00:00:00+00:00 to 2026-11-30T23:59:59+00:00 (30 days)" in text
    assert "9,000 purchases, 500 returns, 400 events, 100 redemptions; 1,200 members" in text


def test_rules_are_listed_by_largest_difference_then_rule_id() -> None:
    text = render_table(a_report())
    section = text.split("Points per rule")[1].split("Points per tier")[0]
    order = [line.split()[0] for line in section.splitlines()[3:] if line.strip()]
    assert order == [HOSTILE, "z.promo", "returns.clawback", "earning.base"]
    assert line_starting(section, HOSTILE)[1:] == ["0", "5,000", "-5,000", "0.00", "50.00"]


def test_without_a_point_value_costs_are_said_to_be_missing_once() -> None:
    text = render_table(without_point_value(a_report()))
    assert text.count(NO_POINT_VALUE) == 1
    assert "cost (" not in text
    assert "draft cost" not in text
    assert line_starting(text, "points issued")[-1] == "+12,000"


def test_a_sixty_day_period_is_summarised_by_week() -> None:
    period = {"from": "2026-10-01T00:00:00+00:00", "to": "2026-11-29T23:59:59+00:00",
              "ignore_windows": True, "shard": "2/4"}
    text = render_table(a_report(period=period, per_day=days(date(2026, 10, 1), 60)))
    assert "(60 days)" in text
    assert "Per week, Monday to Sunday (60 days in the period)" in text
    assert "Per day" not in text
    section = text.split("Per week")[1].split("Members most affected")[0]
    weeks = [line.split()[0] for line in section.splitlines()[3:] if line.strip()]
    assert weeks == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26",
                     "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert line_starting(section, "2026-09-28") == ["2026-09-28", "40", "20", "+20", "0.40",
                                                    "0.40"]
    assert "shard 2/4, rule windows ignored" in text


def test_a_period_longer_than_half_a_year_is_summarised_by_month() -> None:
    period = {"from": "2026-01-01T00:00:00+00:00", "to": "2026-12-31T23:59:59+00:00",
              "ignore_windows": False, "shard": "1/1"}
    text = render_table(a_report(period=period, per_day=days(date(2026, 1, 1), 365)))
    assert "Per month (365 days in the period)" in text
    assert line_starting(text, "2026-02") == ["2026-02", "280", "140", "+140", "2.80", "2.80"]


def test_members_tier_differences_and_samples_are_listed() -> None:
    text = render_table(a_report())
    assert line_starting(text, "M-7") == ["M-7", "5,000", "2,500", "+2,500"]
    assert "Tier differences: 3 members (showing 1)" in text
    assert line_starting(text, "M-1 ") == ["M-1", "gold", "silver", "yes", "no"]
    assert "T-1  purchase  member M-1  at 2026-11-11T10:00:00+00:00" in text
    assert line_starting(text, "against  earning.base") == [
        "against", "earning.base", "earn", "+50", "half", "a", "point", "per", "CNY"]
    assert "| the draft doubles the base rate" in text
    assert "| gold members earn on top" in text


def test_the_replay_check_says_whether_the_recorded_ledger_is_reproduced() -> None:
    text = render_table(a_report())
    assert ("Replaying the rules in force reproduces the recorded ledger: "
            "9,900 occurrences, 0 differences") in text
    differing = {"compared": 9900, "differences": 2,
                 "examples": ["T-9: recorded 100, replayed 90", "T-10: recorded 5, replayed 0"]}
    text = render_table(a_report(replay_check=differing))
    assert "9,900 occurrences, 2 differences" in text
    assert "reproduces" not in text
    assert "e.g. T-9: recorded 100, replayed 90" in text
    assert "Replaying" not in render_table(a_report(replay_check=None))


def test_no_line_of_the_table_is_wider_than_a_hundred_columns() -> None:
    report = a_report()
    report["per_rule"].append(rule("campaign." + "x" * 120, 1, 0))
    report["samples"][0]["explanation"].append("word " * 60)
    report["samples"][0]["draft"][0]["reason"] = "because " * 30
    text = render_table(report)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "campaign.xxx" in text


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(a_report())


def test_the_page_is_complete_and_titled_after_the_backtest(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert ("<title>Backtest: rules-draft/ (a1b2c3d4e5) against the versions in force (3, 4), "
            "2026-11-01T00:00:00+00:00 to 2026-11-30T23:59:59+00:00</title>") in page


def test_the_page_embeds_plotly_once_and_draws_two_charts(page: str) -> None:
    assert page.count(get_plotlyjs()) == 1
    assert page.count("Plotly.newPlot(") == 2
    assert page.count('class="plotly-graph-div"') == 2
    assert 'id="cost-per-day"' in page
    assert 'id="points-per-rule"' in page
    assert "Cost per day, draft against current" in page
    assert "Points per rule" in page


def test_the_page_escapes_what_marketing_wrote(page: str) -> None:
    assert "promo.&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert "1 point per CNY &lt;b&gt;spent&lt;/b&gt;" in page
    assert "<b>spent</b>" not in page


def test_the_page_shows_the_summary_and_the_samples(page: str) -> None:
    assert '<td class="l">points issued</td><td class="r">1,234,567</td>' in page
    assert "Occurrences whose decisions differ: 42" in page
    assert "T-1  purchase  member M-1  at 2026-11-11T10:00:00+00:00" in page
    assert "<li>the draft doubles the base rate</li>" in page
    assert "9,900 occurrences, 0 differences" in page


def test_without_a_point_value_the_page_charts_points_and_says_so_once() -> None:
    page = render_html(without_point_value(a_report()))
    assert page.count(NO_POINT_VALUE) == 1
    assert "Points per day, draft against current" in page
    assert "Cost per day" not in page
