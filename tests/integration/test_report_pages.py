"""Report pages from a real small programme: each report as one HTML page that works offline,
with its charts and the same figures as its JSON; `loyalty report` on the command line; and the
page over HTTP for marketing alone."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from loyalty.cli import main
from loyalty.services.context import ServiceContext
from loyalty.services.named_reports import REPORTS, read_report, report_page
from loyalty.services.page_parts import money, percent
from loyalty.services.sweep import run_sweep
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, purchase, redeem

Auth = Callable[[str], dict[str, str]]
#: Each page's charts, by the id of the element each is drawn in.
CHARTS = {
    "overview": ["chart-tiers", "chart-stages"],
    "liability": ["chart-outstanding", "chart-expiring", "chart-redemption"],
    "winback": ["chart-offers", "chart-uplift", "chart-experiment-1"],
    "pyramid": ["chart-tiers", "chart-bands", "chart-months"],
    "value-matrix": ["chart-matrix", "chart-segments", "chart-value-moves"],
    "lifecycle": ["chart-stages", "chart-trend", "chart-flows"],
}
#: (member, amount, days before T0) of every purchase, oldest first.
PURCHASES = [("M-DAN", "500.00", 300), ("M-ANN", "60000.00", 100), ("M-BOB", "25000.00", 40),
             ("M-CAI", "8000.00", 20), ("M-EVE", "300.00", 10)]
#: The sweeps, days before T0: Dan has lapsed by the first (an offer, or held out from it),
#: and its window has closed by T0; the others fall in three months.
SWEEPS = (150, 62, 31, 0)


def at(ctx: ServiceContext, days_ago: int) -> None:
    ctx.clock = lambda: T0 - timedelta(days=days_ago)


@pytest.fixture
def programme(ctx: ServiceContext) -> ServiceContext:
    """Six members who joined 400 days ago: Ann spent 60,000, Bob 25,000, Cai 8,000, Eve 300
    in the last 100 days; Dan bought once 300 days ago and lapsed; Fay never bought. Ann spent
    points on a check-up. The daily sweep ran now and then, the last time today (T0)."""
    at(ctx, 400)
    for member_id in ("M-ANN", "M-BOB", "M-CAI", "M-DAN", "M-EVE", "M-FAY"):
        enrol(ctx, member_id)
    moments = sorted([(days, "buy", member, total) for member, total, days in PURCHASES]
                     + [(days, "sweep", "", "") for days in SWEEPS], key=lambda m: -m[0])
    for days, what, member, total in moments:
        at(ctx, days)
        if what == "buy":
            purchase(ctx, f"S-{member}-{days}", [("GOODS", "kitchen", 1, total)],
                     member_id=member, at=T0 - timedelta(days=days))
        else:
            run_sweep(ctx, T0 - timedelta(days=days))
            if days == 62:
                redeem(ctx, "RD-ANN", "FREE-CHECKUP", member_id="M-ANN")
    at(ctx, 0)
    return ctx


def chart_ids(page: str) -> list[str]:
    return re.findall(r'<div id="(chart-[\w-]+)" class="plotly-graph-div"', page)


@pytest.mark.parametrize("name", list(REPORTS))
def test_each_page_draws_its_charts_offline_with_plotly_inlined_once(
    programme: ServiceContext, name: str
) -> None:
    page = report_page(programme, name)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert chart_ids(page) == CHARTS[name]
    assert page.count("* plotly.js v") == 1  # the library, once, in the page itself
    assert page.count("Plotly.newPlot(") == len(CHARTS[name])
    assert not re.search(r"<(?:script|link|img)[^>]+(?:src|href)=", page)  # nothing fetched
    # every chart says in a line what it shows, and its figures are in a table beside it
    assert page.count('<p class="explain">') == page.count("<section ")
    assert page.count("<table>") >= len(CHARTS[name])


def text_of(page: str) -> str:
    """The page's words without its scripts and tags, entities read back."""
    without = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", without).replace("&#x27;", "'").replace("&amp;", "&")


def test_the_pyramid_page_shows_the_top_fifth_and_the_revenue_per_tier(
    programme: ServiceContext,
) -> None:
    data = read_report(programme, "pyramid")
    words = text_of(report_page(programme, "pyramid"))
    assert data["revenue"] == "93800.00"  # every purchase of the last 365 days
    assert "93,800.00 CNY" in words
    top = data["top_fifth"]  # Ann and Bob: 85,000 of 93,800
    assert (top["members"], top["revenue"]) == (2, "85000.00")
    assert (f"The top fifth of members (2 of 6) brought {percent(top['share_of_revenue'])} of "
            "the revenue of the last 365 days: 85,000.00 CNY of 93,800.00 CNY.") in words
    for tier in data["tiers"]:
        assert money(tier["revenue"], "CNY") in words
    assert re.search(r"platinum\s+50,000 CNY in 12 months: points x2\s+1\s+60,000.00 CNY", words)
    assert [row["month"] for row in data["months"]] == [  # a month for each month swept
        (T0 - timedelta(days=days)).strftime("%Y-%m") for days in SWEEPS]
    for month in data["months"]:
        assert month["month"] in words


def test_the_lifecycle_and_overview_pages_count_members_by_stage_in_plain_words(
    programme: ServiceContext,
) -> None:
    data = read_report(programme, "lifecycle")
    words = text_of(report_page(programme, "lifecycle"))
    stages = {row["stage"]: row["members"] for row in data["stages"]}
    assert stages["dormant"] == 1 and stages["lapsed"] == 1  # Fay never bought; Dan lapsed
    assert re.search(r"dormant\s+joined over 60 days ago and never bought\s+1\s+16\.7%", words)
    assert re.search(r"lapsed\s+no purchase for 120 days\s+1\s+16\.7%", words)
    overview = text_of(report_page(programme, "overview"))
    assert "6 members, of whom" in overview
    assert re.search(r"dormant\s+joined over 60 days ago and never bought\s+1\s+16\.7%",
                     overview)


def test_the_value_matrix_page_names_each_segment_with_what_it_holds(
    programme: ServiceContext,
) -> None:
    data = read_report(programme, "value-matrix")
    words = text_of(report_page(programme, "value-matrix"))
    for segment in data["segments"]:
        value = re.escape(money(segment["current_value"], "CNY"))
        found = rf"{re.escape(segment['segment'])}\s+[^<]*?\s+{segment['members']}\s+{value}"
        assert re.search(found, words), segment
    assert "high value now, high potential" in words and "low value now, low potential" in words
    names = [segment["segment"] for segment in data["segments"]]
    assert data["months"]
    for month in data["months"]:  # each month's members per segment, in the matrix's order
        figures = r"\s+".join(str(month["counts"][name]) for name in names)
        assert re.search(rf"{month['month']}\s+{figures}\s+{month['unvalued']}", words), month


def test_the_liability_page_values_the_points_in_the_programme_currency(
    programme: ServiceContext,
) -> None:
    data = read_report(programme, "liability")
    words = text_of(report_page(programme, "liability"))
    available = data["outstanding"]["available"]
    assert available["points"] > 0
    assert (f"Members hold {available['points']:,} points they can spend, worth "
            f"{money(available['value'], 'CNY')}.") in words
    assert "1 point = 0.01 CNY" in words
    redeemed = data["redemption"]["lifetime"]["redeemed"]
    assert redeemed == 2000 and "2,000" in words


def test_the_winback_page_shows_each_offer_by_its_description_and_the_test_against_no_offer(
    programme: ServiceContext,
) -> None:
    data = read_report(programme, "winback")
    words = text_of(report_page(programme, "winback"))
    test = data["experiments"][0]
    assert test["rule_id"] == "winback-lapsed"
    assert test["offer"]["members"] + test["control"]["members"] == 1  # Dan, one way or other
    assert ("winback-lapsed (We miss you - 500 bonus points on your next purchase), campaign "
            f"winback-2026. {test['percent']}% of the members this rule chose were held out"
            ) in words
    assert data["offers"]
    for offer in data["offers"]:  # each offer with what it gives, as its rule describes it
        assert re.search(rf"{offer['offer_code']}\s+(500 bonus|Double) points on your next "
                         rf"purchase\s+campaign winback-2026\s+{offer['issued']}", words)


def run_cli(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> Any:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", url)
    monkeypatch.setenv("LOYALTY_RULES_DIR", str(RULES_DIR))
    return CliRunner().invoke(main, ["report", *args])


def test_the_command_prints_the_json_or_writes_the_page(
    programme: ServiceContext, database_url: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    as_of = T0.isoformat()
    printed = run_cli(monkeypatch, database_url, "pyramid", "--as-of", as_of, "--months", "2")
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == read_report(programme, "pyramid", T0, 2)
    target = tmp_path / "pyramid.html"
    written = run_cli(monkeypatch, database_url, "pyramid", "--as-of", as_of, "--html",
                      str(target))
    assert written.exit_code == 0, written.output
    assert f"wrote the pyramid page to {target}" in written.stdout
    page = target.read_text(encoding="utf-8")
    assert chart_ids(page) == CHARTS["pyramid"] and "93,800.00 CNY" in page


@pytest.mark.parametrize(("args", "message"), [
    (["ledger"], "'ledger' is not one of 'overview', 'liability'"),
    (["liability", "--as-of", "2026-13-01"], "not an ISO date or instant: '2026-13-01'"),
    (["liability", "--as-of", "2026-11-20T10:00"], "an instant needs its UTC offset"),
    (["overview", "--as-of", "2026-11-20"], "the overview report shows members as they stand "
                                            "now: it takes no as_of"),
    (["liability", "--months", "3"], "the liability report has no month-by-month part"),
    (["pyramid", "--months", "37"], "37 is not in the range 1<=x<=36"),
])
def test_the_command_refuses_a_report_or_instant_it_cannot_read(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str],
    message: str,
) -> None:
    target = tmp_path / "page.html"
    result = run_cli(monkeypatch, database_url, *args, "--html", str(target))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not target.exists()


def test_marketing_opens_a_page_over_http_and_other_roles_are_refused(
    programme: ServiceContext, client: FlaskClient, auth: Auth,
) -> None:
    page = client.get("/api/v1/reports/lifecycle/page?months=2", headers=auth("marketing"))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert chart_ids(page.get_data(as_text=True)) == CHARTS["lifecycle"]
    for role in ("pos", "adjust"):
        refused = client.get("/api/v1/reports/lifecycle/page", headers=auth(role))
        assert (refused.status_code, refused.get_json()["code"]) == (403, "forbidden"), role
    unknown = client.get("/api/v1/reports/ledger/page", headers=auth("marketing"))
    assert (unknown.status_code, unknown.get_json()["code"]) == (404, "not_found")
    assert "the reports are overview, liability" in unknown.get_json()["message"]
    for query, field in (("?months=0", "months"), ("?as_of=yesterday", "as_of")):
        bad = client.get(f"/api/v1/reports/pyramid/page{query}", headers=auth("marketing"))
        assert bad.status_code == 422 and field in json.dumps(bad.get_json()), query
    taken_now = client.get("/api/v1/reports/overview/page?as_of=2026-11-20T00:00:00Z",
                           headers=auth("marketing"))
    assert taken_now.status_code == 422
    assert taken_now.get_json()["details"]["fields"] == {
        "as_of": ["the overview report shows members as they stand now: it takes no as_of."]}
