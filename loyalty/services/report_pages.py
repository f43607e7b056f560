"""Each report as one self-contained HTML page that works offline: plotly.js inlined once, a
chart per figure with a plain line saying what it shows, and a table of the figures beside it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from loyalty.domain.policy import LIFECYCLE_STAGES
from loyalty.services.page_parts import (
    Labels,
    Page,
    Section,
    Table,
    as_of_line,
    colours,
    count,
    currency_of,
    e,
    figure,
    money,
    named,
    page_html,
    percent,
    plotted,
    share,
    stage_order,
)
from loyalty.services.value_pages import lifecycle_page, pyramid_page, value_matrix_page
from loyalty.services.winback_page import winback_page

#: The liability's buckets: (bucket, a short name for the chart, what it holds).
BUCKETS = (("available", "to spend now", "points members can spend now"),
           ("pending", "waiting", "points waiting for the return window to end"),
           ("debt", "owed by members", "points members owe: spent, then the purchase was "
                                       "returned"))


def render_html(name: str, data: Mapping[str, Any], labels: Labels | None = None) -> str:
    """The report `name` (its JSON as the API returns it) as one HTML page."""
    build = PAGES.get(name)
    if build is None:
        raise ValueError(f"no page for a report named {name!r}; the pages: {', '.join(PAGES)}")
    title, lines, headline, sections = build(data, labels or Labels())
    return page_html(title, lines, sections, _plotly_js(), headline)


@cache
def _plotly_js() -> str:
    return str(get_plotlyjs())


def overview_page(data: Mapping[str, Any], labels: Labels) -> Page:
    total = int(data.get("members") or 0)
    vip = int(data.get("vip") or 0)
    tiers = list(data.get("pyramid") or [])
    tier_names = [e(row.get("tier")) for row in tiers]
    tier_chart = figure([go.Bar(y=tier_names, x=[int(row.get("members") or 0) for row in tiers],
                                orientation="h", name="members",
                                marker_color="#3366aa")],
                        x_title="members", horizontal=True, legend=False)
    tier_table = Table(("tier", "members", "share of members"), [
        (named(row.get("tier"), labels.tiers), count(row.get("members")),
         percent(share(row.get("members"), total))) for row in tiers],
        "lrr", total=("all members", count(total), percent(1 if total else None)))
    stages: Mapping[str, int] = data.get("lifecycle") or {}
    order = stage_order(list(stages))
    colour = colours(order, LIFECYCLE_STAGES)
    stage_chart = figure([go.Bar(x=[e(stage) for stage in order],
                                 y=[int(stages[stage]) for stage in order], name="members",
                                 marker_color=[colour[stage] for stage in order])],
                         y_title="members", legend=False)
    stage_table = Table(("stage", "what it means", "members", "share"), [
        (stage, labels.stages.get(stage, ""), count(stages[stage]),
         percent(share(stages[stage], total))) for stage in order], "llrr")
    sections = [
        Section("tiers", "Members per tier",
                "How many members hold each tier, the highest tier on top: the shape of the "
                "programme's pyramid.", tier_chart, tier_table),
        Section("stages", "Members per lifecycle stage",
                "Where members are in their life with the programme, from newly joined to "
                "gone quiet, by how recently and how much they buy.", stage_chart, stage_table),
    ]
    headline = (f"{total:,} members, of whom {vip:,} are VIPs "
                f"({percent(share(vip, total))})." if total else "No members yet.")
    return "Programme overview", [], headline, sections


def liability_page(data: Mapping[str, Any], labels: Labels) -> Page:
    currency = currency_of(data, labels)
    point_value = data.get("point_value")
    valued = point_value is not None
    outstanding: Mapping[str, Any] = data.get("outstanding") or {}
    rows = [(key, short, about, outstanding.get(key) or {}) for key, short, about in BUCKETS]
    y_title = f"value ({currency})" if valued else "points"

    def height(figures: Mapping[str, Any]) -> Any:
        return plotted(figures.get("value")) if valued else int(figures.get("points") or 0)

    bucket_chart = figure([go.Bar(x=[e(short) for _, short, _, _ in rows],
                                  y=[height(figures) for _, _, _, figures in rows],
                                  marker_color=["#3366aa", "#ee9933", "#cc4455"],
                                  name=y_title)], y_title=y_title, legend=False)
    bucket_table = Table(("points", "what they are", "points", f"value ({currency})"), [
        (key, about, count(figures.get("points")), money(figures.get("value"), currency))
        for key, _, about, figures in rows], "llrr")
    expiring = list(data.get("expiring") or [])
    expiry_chart = figure([go.Bar(x=[f"within {row.get('within_days')} days" for row in expiring],
                                  y=[height(row) for row in expiring], name=y_title,
                                  marker_color="#ee9933")], y_title=y_title, legend=False)
    expiry_table = Table(("expire", "points", f"value ({currency})"), [
        (f"within {row.get('within_days')} days", count(row.get("points")),
         money(row.get("value"), currency)) for row in expiring], "lrr")
    redemption: Mapping[str, Any] = data.get("redemption") or {}
    periods = [(key.replace("_", " ").replace("last", "the last"), redemption[key])
               for key in redemption]
    redemption_chart = figure([
        go.Bar(x=[e(label) for label, _ in periods],
               y=[int(row.get("earned") or 0) for _, row in periods], name="earned"),
        go.Bar(x=[e(label) for label, _ in periods],
               y=[int(row.get("redeemed") or 0) for _, row in periods], name="redeemed")],
        y_title="points")
    redemption_table = Table(("period", "earned", "redeemed", "redeemed of earned"), [
        (label, count(row.get("earned")), count(row.get("redeemed")),
         percent(row.get("rate"))) for label, row in periods], "lrrr")
    notes = () if valued else ("program.yaml declares no point_value: points are not valued "
                               "in money.",)
    sections = [
        Section("outstanding", "Points outstanding",
                "What the business owes its members: the points they hold, by whether they can "
                "be spent yet, and what they are worth.", bucket_chart, bucket_table, notes),
        Section("expiring", "Points expiring soon",
                "Points that will expire unless spent, within 30, 90 and 365 days; each window "
                "includes the shorter ones.", expiry_chart, expiry_table),
        Section("redemption", "Points earned and redeemed",
                "How many of the points members earned they spent on rewards: over the last "
                "year, and since the programme began.", redemption_chart, redemption_table),
    ]
    available = outstanding.get("available") or {}
    headline = f"Members hold {count(available.get('points'))} points they can spend"
    headline += (f", worth {money(available.get('value'), currency)}." if valued else ".")
    lines = [line for line in (as_of_line(data), f"1 point = {point_value} {currency}"
                               if valued else "") if line]
    return "Points liability", lines, headline, sections


PAGES: dict[str, Callable[[Mapping[str, Any], Labels], Page]] = {
    "overview": overview_page,
    "liability": liability_page,
    "pyramid": pyramid_page,
    "value-matrix": value_matrix_page,
    "lifecycle": lifecycle_page,
    "winback": winback_page,
}
