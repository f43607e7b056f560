"""Report pages from figures alone: what each says when figures are missing, and that nothing
a programme names (a tier, a segment, an offer) is read as markup."""

from __future__ import annotations

import re
from typing import Any

import pytest

from loyalty.services.page_parts import Labels
from loyalty.services.report_pages import PAGES, render_html

EMPTY: dict[str, dict[str, Any]] = {
    "overview": {"members": 0, "vip": 0, "pyramid": [], "lifecycle": {}},
    "liability": {"as_of": "2026-11-20T00:00:00+00:00", "currency": "CNY",
                  "point_value": None, "outstanding": {}, "expiring": [], "redemption": {}},
    "winback": {"as_of": "2026-11-20T00:00:00+00:00", "currency": "CNY", "offers": [],
                "experiments": []},
    "pyramid": {"as_of": "2026-11-20T00:00:00+00:00", "currency": "CNY", "window_days": 365,
                "members": 0, "revenue": "0.00", "tiers": [], "value_bands": [],
                "top_fifth": {"members": 0, "revenue": "0.00", "share_of_revenue": None},
                "months": []},
    "value-matrix": {"as_of": "2026-11-20T00:00:00+00:00", "currency": "CNY", "segments": [],
                     "unvalued": 0, "months": []},
    "lifecycle": {"as_of": "2026-11-20T00:00:00+00:00", "stages": [], "months": []},
}


def words(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<script>.*?</script>", "", page,
                                                   flags=re.S)).split())


@pytest.mark.parametrize("name", list(PAGES))
def test_a_page_of_a_programme_with_nothing_yet_says_so_rather_than_failing(name: str) -> None:
    page = words(render_html(name, EMPTY[name]))
    assert any(text in page for text in ("No members yet.", "No member has a value yet.",
                                         "No win-back offer issued yet.", "Members hold 0"))


def test_an_unknown_page_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no page for a report named 'ledger'"):
        render_html("ledger", {})


def test_points_without_a_point_value_are_counted_not_valued() -> None:
    page = words(render_html("liability", {
        **EMPTY["liability"], "outstanding": {"available": {"points": 1200, "value": None}}}))
    assert "Members hold 1,200 points they can spend." in page
    assert "program.yaml declares no point_value: points are not valued in money." in page


def test_names_from_the_programme_are_shown_as_text_never_as_markup() -> None:
    tier = "<script>alert(1)</script>"
    page = render_html("overview", {"members": 1, "vip": 0,
                                    "pyramid": [{"tier": tier, "members": 1}],
                                    "lifecycle": {"new": 1}},
                       Labels(tiers={tier: "<b>top</b> & more"}))
    assert "<script>alert(1)</script>" not in page.split("</head>", 1)[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;top&lt;/b&gt; &amp; more" in page


def test_a_test_too_small_for_an_interval_is_not_yet_proven() -> None:
    group = {"members": 1, "returned": 1, "return_rate": 1.0, "spend": "10.00",
             "spend_per_member": "10.00", "open": 3}
    uplift = {key: None for key in ("return_rate", "return_rate_low", "return_rate_high",
                                    "spend_per_member", "spend_per_member_low",
                                    "spend_per_member_high")}
    page = words(render_html("winback", {**EMPTY["winback"], "experiments": [{
        "rule_id": "winback-lapsed", "campaign": None, "percent": 10, "within_days": 60,
        "offer": group, "control": {**group, "members": 0, "returned": 0, "open": 0},
        "uplift": {**uplift, "confidence": 0.95}, "offers_used": 0, "cost_points": 0,
        "cost": None}]}))
    assert "not yet: too few members" in page
    assert "3 more decisions are not counted yet: their 60-day window is still open." in page
    assert "Tested against members held out, 0 of 1 win-back rules proved to bring more " \
        "members back." in page
