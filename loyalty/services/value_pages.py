"""The customer value pages: the revenue pyramid, the value matrix and the lifecycle, each as it
stands and month by month."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from loyalty.domain.policy import LIFECYCLE_STAGES
from loyalty.services.page_parts import (
    Labels,
    Page,
    Section,
    Table,
    amount,
    as_of_line,
    colours,
    count,
    currency_of,
    e,
    figure,
    money,
    named,
    percent,
    share,
    stage_order,
)

#: The value matrix's quadrants: (quadrant, high current value, high potential value).
QUADRANTS = (("keep", True, True), ("grow", False, True), ("maintain", True, False),
             ("reduce_cost", False, False))
QUADRANT_MEANING = {
    "keep": "high value now, high potential",
    "grow": "low value now, high potential",
    "maintain": "high value now, low potential",
    "reduce_cost": "low value now, low potential",
}
NO_VALUE = "no value yet"


def pyramid_page(data: Mapping[str, Any], labels: Labels) -> Page:
    currency = currency_of(data, labels)
    members, revenue = int(data.get("members") or 0), data.get("revenue")
    days = data.get("window_days") or 365
    tiers = list(data.get("tiers") or [])
    tier_names = [e(row.get("tier")) for row in tiers]
    tier_chart = figure([
        go.Bar(y=tier_names, x=[share(row.get("members"), members) or 0 for row in tiers],
               orientation="h", name="share of members"),
        go.Bar(y=tier_names, x=[float(row.get("share_of_revenue") or 0) for row in tiers],
               orientation="h", name="share of revenue")],
        horizontal=True, percent_axis=True)
    tier_table = Table(("tier", "members", f"revenue ({currency})", "share of revenue"), [
        (named(row.get("tier"), labels.tiers), count(row.get("members")),
         money(row.get("revenue"), currency), percent(row.get("share_of_revenue")))
        for row in tiers], "lrrr",
        total=("all members", count(members), money(revenue, currency),
               percent(1 if amount(revenue) else None)))
    bands = list(data.get("value_bands") or [])
    band_names = [e(row.get("band")) for row in bands]
    band_chart = figure([
        go.Bar(x=band_names, y=[float(row.get("share_of_revenue") or 0) for row in bands],
               name="share of revenue", marker_color="#3366aa",
               text=[percent(row.get("share_of_revenue")) for row in bands],
               textposition="outside")],
        x_title="members ranked by revenue", legend=False, percent_axis=True)
    band_table = Table(("members ranked by revenue", "members", f"revenue ({currency})",
                        "share of revenue"), [
        (str(row.get("band")), count(row.get("members")), money(row.get("revenue"), currency),
         percent(row.get("share_of_revenue"))) for row in bands], "lrrr")
    months = list(data.get("months") or [])
    month_chart = figure([go.Scatter(
        x=[str(row.get("month")) for row in months],
        y=[float(row.get("top_fifth_share") or 0) for row in months], mode="lines+markers",
        name="top fifth's share of revenue", line_color="#3366aa")],
        y_title="top fifth's share of revenue", legend=False, percent_axis=True)
    month_chart.update_yaxes(range=[0, 1])
    month_table = Table(("month", "members", f"revenue ({currency})", "top fifth's share"), [
        (str(row.get("month")), count(row.get("members")), money(row.get("revenue"), currency),
         percent(row.get("top_fifth_share"))) for row in months], "lrrr")
    sections = [
        Section("tiers", "Revenue by tier",
                f"Each tier's share of the members and of the revenue of the last {days} days: "
                "a tier whose revenue share is far above its member share is worth most.",
                tier_chart, tier_table),
        Section("bands", "Revenue by value band",
                f"Members ranked by what they spent in the last {days} days, from the top 1% "
                "down to the bottom half, and the share of the revenue each band brought.",
                band_chart, band_table),
        Section("months", "The top fifth's share, month by month",
                "How much of each month's revenue the fifth of members who spent most brought: "
                "a rising line means the programme leans more on fewer members.",
                month_chart, month_table),
    ]
    top = data.get("top_fifth") or {}
    headline = (f"The top fifth of members ({count(top.get('members'))} of {members:,}) "
                f"brought {percent(top.get('share_of_revenue'))} of the revenue of the last "
                f"{days} days: {money(top.get('revenue'), currency)} of "
                f"{money(revenue, currency)}." if members else "No members yet.")
    return "Value pyramid", [line for line in (as_of_line(data),) if line], headline, sections


def _segment_meaning(segment: str | None, quadrant: str | None, labels: Labels) -> str:
    if segment is None:
        return "members the value sweep has not valued yet"
    return labels.segments.get(segment) or QUADRANT_MEANING.get(str(quadrant), "")


def _segment_named(row: Mapping[str, Any], labels: Labels) -> str:
    """The segment's name, and beneath it what it holds."""
    meaning = _segment_meaning(row.get("segment"), row.get("quadrant"), labels)
    return f"{row.get('segment')}\n{meaning}" if meaning else str(row.get("segment"))


def _segment(value: Any) -> str:
    return NO_VALUE if value is None else str(value)


def value_matrix_page(data: Mapping[str, Any], labels: Labels) -> Page:
    currency = currency_of(data, labels)
    segments = list(data.get("segments") or [])
    by_quadrant = {row.get("quadrant"): row for row in segments}
    total = sum(int(row.get("members") or 0) for row in segments)
    unvalued = int(data.get("unvalued") or 0)
    z = [[0, 0], [0, 0]]
    text = [["", ""], ["", ""]]
    for quadrant, high_now, high_potential in QUADRANTS:
        row = by_quadrant.get(quadrant) or {}
        members = int(row.get("members") or 0)
        z[int(high_potential)][int(high_now)] = members
        text[int(high_potential)][int(high_now)] = (
            f"<b>{e(row.get('segment') or quadrant)}</b><br>{members:,} members<br>"
            f"{percent(share(members, total))}")
    matrix = go.Figure(go.Heatmap(
        z=z, x=["low value now", "high value now"], y=["low potential", "high potential"],
        text=text, texttemplate="%{text}", textfont={"size": 15}, showscale=False,
        colorscale=[[0, "#eef3fa"], [1, "#7fa3d6"]], xgap=4, ygap=4, hoverinfo="text"))
    matrix.update_layout(template="plotly_white", margin={"l": 110, "r": 20, "t": 30, "b": 50},
                         font={"family": "system-ui, sans-serif", "size": 13})
    matrix_table = Table(("segment", "members", f"value now ({currency})",
                          f"potential ({currency})", f"revenue ({currency})"), [
        (_segment_named(row, labels), count(row.get("members")),
         money(row.get("current_value"), currency),
         money(row.get("potential_value"), currency), money(row.get("revenue"), currency))
        for row in segments], "lrrrr")
    notes = (f"{unvalued:,} members have no value yet: the value sweep has not reached them, "
             "or they are too new to value.",) if unvalued else ()
    months = list(data.get("months") or [])
    names = _ordered(segments, months)
    if any(month.get("unvalued") for month in months):
        names.append(NO_VALUE)
    colour = colours(names)

    def counts(month: Mapping[str, Any]) -> Mapping[str, Any]:
        return {**(month.get("counts") or {}), NO_VALUE: month.get("unvalued") or 0}

    trend, trend_table = _stacked(months, names, counts, colour)
    moves_section = _moves(months, "moves", "value-moves", "Moves between segments",
                           "How many members moved from one segment to another in the latest "
                           "month, against the month before.", _segment, colour)
    sections = [
        Section("matrix", "The value matrix",
                "Members by the value they bring now (across) and the value they are predicted "
                "to bring (up): keep the top right, grow the top left.", matrix, matrix_table,
                notes, height=420),
        Section("segments", "Segments, month by month",
                "How many members each segment held at the end of each month.", trend,
                trend_table),
        moves_section,
    ]
    keep = by_quadrant.get("keep") or {}
    grow = by_quadrant.get("grow") or {}
    headline = (f"{count(keep.get('members'))} members to keep and {count(grow.get('members'))} "
                f"to grow, of {total:,} valued." if total else "No member has a value yet.")
    return "Value matrix", [line for line in (as_of_line(data),) if line], headline, sections


def _ordered(segments: Sequence[Mapping[str, Any]],
             months: Sequence[Mapping[str, Any]]) -> list[str]:
    """The segment names in the matrix's order, then any other the months hold."""
    names = [str(row.get("segment")) for row in segments]
    for month in months:
        names += [str(name) for name in month.get("counts") or {} if str(name) not in names]
    return list(dict.fromkeys(names))


def _stacked(months: Sequence[Mapping[str, Any]], names: Sequence[str],
             counts_of: Callable[[Mapping[str, Any]], Mapping[str, Any]],
             colour: Mapping[str, str]) -> tuple[go.Figure, Table]:
    """A bar per month stacked by `names`, and the same figures as a table."""
    labels = [str(month.get("month")) for month in months]
    counts = [counts_of(month) for month in months]
    chart = figure([go.Bar(x=labels, y=[int(found.get(name) or 0) for found in counts],
                           name=e(name), marker_color=colour[name])
                    for name in names], y_title="members", stacked=True)
    table = Table(("month", *names), [
        (label, *(count(found.get(name)) for name in names))
        for label, found in zip(labels, counts, strict=True)], "l" + "r" * len(names))
    return chart, table


def _moves(months: Sequence[Mapping[str, Any]], key: str, section: str, title: str,
           explain: str, name: Callable[[Any], str], colour: Mapping[str, str]) -> Section:
    """The latest month's moves as a flow from the left (before) to the right (after)."""
    latest = months[-1] if months else {}
    moves = sorted(latest.get(key) or [], key=lambda row: -int(row.get("members") or 0))
    moves = [row for row in moves if row.get("from") != row.get("to")]
    before = list(dict.fromkeys(name(row.get("from")) for row in moves))
    after = list(dict.fromkeys(name(row.get("to")) for row in moves))
    nodes = [*before, *after]
    chart = go.Figure(go.Sankey(
        node={"label": [e(node) for node in nodes], "pad": 18, "thickness": 16,
              "color": [colour.get(node, "#999999") for node in nodes]},
        link={"source": [before.index(name(row.get("from"))) for row in moves],
              "target": [len(before) + after.index(name(row.get("to"))) for row in moves],
              "value": [int(row.get("members") or 0) for row in moves]}))
    chart.update_layout(margin={"l": 20, "r": 20, "t": 30, "b": 20},
                        font={"family": "system-ui, sans-serif", "size": 13})
    table = Table(("from", "to", "members"), [
        (name(row.get("from")), name(row.get("to")), count(row.get("members")))
        for row in moves], "llr")
    month = latest.get("month")
    return Section(section, f"{title}{f' in {month}' if month else ''}", explain,
                   chart if moves else None, table)


def lifecycle_page(data: Mapping[str, Any], labels: Labels) -> Page:
    stages = {str(row.get("stage")): int(row.get("members") or 0)
              for row in data.get("stages") or []}
    total = sum(stages.values())
    months = list(data.get("months") or [])
    order = stage_order([*stages, *_month_names(months, "stages")])
    colour = colours(order, LIFECYCLE_STAGES)
    now = figure([go.Bar(x=[e(stage) for stage in order],
                         y=[stages.get(stage, 0) for stage in order], name="members",
                         marker_color=[colour[stage] for stage in order])],
                 y_title="members", legend=False)
    now_table = Table(("stage", "what it means", "members", "share"), [
        (stage, labels.stages.get(stage, ""), count(stages.get(stage, 0)),
         percent(share(stages.get(stage, 0), total))) for stage in order], "llrr",
        total=("all members", "", count(total), percent(1 if total else None)))
    trend, trend_table = _stacked(months, order, lambda month: month.get("stages") or {},
                                  colour)
    sections = [
        Section("stages", "Members per lifecycle stage",
                "Where members are in their life with the programme, from newly joined to "
                "gone quiet, by how recently and how much they buy.", now, now_table),
        Section("trend", "Stages, month by month",
                "How many members were in each stage at the end of each month.", trend,
                trend_table),
        _moves(months, "flows", "flows", "Moves between stages",
               "How many members moved from one stage to another in the latest month: the "
               "members drifting away, and those coming back.", str, colour),
    ]
    drifting = sum(stages.get(stage, 0) for stage in ("declining", "lapsed"))
    headline = (f"{drifting:,} of {total:,} members ({percent(share(drifting, total))}) are "
                "drifting away (declining or lapsed)." if total else "No members yet.")
    return "Member lifecycle", [line for line in (as_of_line(data),) if line], headline, sections


def _month_names(months: Iterable[Mapping[str, Any]], key: str) -> list[str]:
    return [str(name) for month in months for name in (month.get(key) or {})]


