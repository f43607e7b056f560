"""The pieces report pages are made of: a section with a chart, a plain line saying what the
chart shows and a table of its figures beside it; money in the programme currency."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from loyalty.domain.policy import LIFECYCLE_STAGES

#: Colours of the pages' charts: calm, and distinct for the colour-blind.
PALETTE = ("#3366aa", "#ee9933", "#55aa66", "#cc4455", "#8866bb", "#999999", "#33aaaa",
           "#bbaa33")
CHART_HEIGHT = 380
#: A table with more columns than this is shown under its chart rather than beside it.
BESIDE_UP_TO_COLUMNS = 5


@dataclass(frozen=True)
class Table:
    """Figures as rows under a header; `align` has "l" or "r" per column. A cell's lines after
    the first are what its first line means, shown smaller beneath it."""

    head: tuple[str, ...]
    rows: Sequence[Sequence[str]]
    align: str
    #: a row shown last and in bold: the totals
    total: Sequence[str] | None = None


@dataclass(frozen=True)
class Section:
    """One part of a page: a heading, what it shows in plain words, a chart and its figures."""

    key: str
    title: str
    explain: str
    chart: go.Figure | None = None
    table: Table | None = None
    #: what to keep in mind reading the figures (shown highlighted)
    notes: tuple[str, ...] = ()
    height: int = CHART_HEIGHT
    #: figures said in sentences, listed under the explanation
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Labels:
    """What the programme calls things, for people: the descriptions shown beside ids."""

    currency: str = ""
    tiers: Mapping[str, str] = field(default_factory=dict)
    stages: Mapping[str, str] = field(default_factory=dict)
    #: value segment name -> what it holds, e.g. "high value now, high potential"
    segments: Mapping[str, str] = field(default_factory=dict)
    rules: Mapping[str, str] = field(default_factory=dict)
    offers: Mapping[str, str] = field(default_factory=dict)


#: A page: its title, the lines under its title, its headline and its sections.
Page = tuple[str, list[str], str, list[Section]]


def e(value: Any) -> str:
    """Text safe in HTML, and in a chart (which shows entities as the characters they name)."""
    return html.escape(str(value))


def amount(value: Any) -> Decimal | None:
    """A money figure of a report (a decimal string) as a Decimal; None when absent."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def plotted(value: Any) -> float:
    """A money figure as a chart's height: charts need numbers, tables keep exact amounts."""
    found = amount(value)
    return 0.0 if found is None else float(found)


def money(value: Any, currency: str) -> str:
    """An amount with thousands separators and two decimals, in the programme currency."""
    found = amount(value)
    if found is None:
        return "-"
    return f"{found:,.2f} {currency}".rstrip()


def count(value: Any) -> str:
    return f"{int(value or 0):,}"


def percent(value: Any, places: int = 1) -> str:
    """A share 0..1 as a percentage; "-" when there is none."""
    if value is None:
        return "-"
    return f"{float(value) * 100:.{places}f}%"


def share(part: Any, whole: Any) -> float | None:
    whole = float(whole or 0)
    return float(part or 0) / whole if whole else None


def named(key: Any, descriptions: Mapping[str, str]) -> str:
    """An id with, on a line beneath, its description where the programme gives one."""
    text = "none" if key is None else str(key)
    about = descriptions.get(text, "") if key is not None else ""
    return f"{text}\n{about}" if about else text


def in_words(key: Any, descriptions: Mapping[str, str]) -> str:
    """An id in a sentence, with its description in brackets where the programme gives one."""
    text = str(key)
    about = descriptions.get(text, "")
    return f"{text} ({about})" if about else text


def colours(names: Iterable[str], known: Sequence[str] = ()) -> dict[str, str]:
    """A colour per name, the same wherever the name appears on a page: the names of `known`
    by their place in it, any other after them."""
    order = list(dict.fromkeys([*known, *names]))
    return {name: PALETTE[number % len(PALETTE)] for number, name in enumerate(order)}


def as_of_line(data: Mapping[str, Any]) -> str:
    """"As of 2026-11-20 00:00 UTC": the instant the report was taken at, to the minute."""
    found = data.get("as_of")
    return f"As of {instant(found)}" if found else ""


def instant(value: Any) -> str:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    offset = at.utcoffset()
    if offset is None or not offset:
        return f"{at:%Y-%m-%d %H:%M} UTC"
    return f"{at:%Y-%m-%d %H:%M} (UTC{at:%z})"


def currency_of(data: Mapping[str, Any], labels: Labels) -> str:
    return str(data.get("currency") or labels.currency or "")


def stage_order(stages: Iterable[str]) -> list[str]:
    """Lifecycle stages in the order a member moves through them; any other after, by name."""
    found = set(stages)
    return ([stage for stage in LIFECYCLE_STAGES if stage in found]
            + sorted(stage for stage in found if stage not in LIFECYCLE_STAGES))


def figure(traces: Iterable[Any], *, y_title: str = "", x_title: str = "",
           stacked: bool = False, horizontal: bool = False, legend: bool = True,
           percent_axis: bool = False) -> go.Figure:
    """A chart in the pages' plain style."""
    chart = go.Figure(list(traces))
    chart.update_layout(
        template="plotly_white", colorway=list(PALETTE), margin={"l": 60, "r": 20, "t": 30,
                                                                 "b": 60},
        font={"family": "system-ui, sans-serif", "size": 13}, showlegend=legend,
        legend={"orientation": "h", "y": -0.18}, barmode="stack" if stacked else "group",
        yaxis_title=e(y_title), xaxis_title=e(x_title))
    value_axis = "xaxis" if horizontal else "yaxis"
    category_axis = "yaxis" if horizontal else "xaxis"
    chart.update_layout({category_axis: {"type": "category"}})
    if horizontal:
        chart.update_layout(yaxis={"autorange": "reversed"})
    if percent_axis:
        chart.update_layout({value_axis: {"tickformat": ".0%", "rangemode": "tozero"}})
    return chart


def chart_html(key: str, chart: go.Figure, height: int) -> str:
    """The chart's div and the script that draws it; plotly.js itself is in the page once."""
    return str(pio.to_html(chart, full_html=False, include_plotlyjs=False,
                           div_id=f"chart-{key}", default_height=f"{height}px",
                           config={"displaylogo": False, "responsive": True}))


def table_html(table: Table) -> str:
    def cell(tag: str, text: str, side: str) -> str:
        first, *about = text.split("\n")
        shown = e(first) + "".join(f"<br><span class=\"about\">{e(line)}</span>"
                                   for line in about)
        return f"<{tag} class=\"{'r' if side == 'r' else 'l'}\">{shown}</{tag}>"

    def row(cells: Sequence[str], tag: str = "td") -> str:
        return "<tr>" + "".join(cell(tag, text, side)
                                for text, side in zip(cells, table.align, strict=False)) + "</tr>"

    if not table.rows and table.total is None:
        return "<p class=\"none\">none</p>"
    body = [row(table.head, "th"), *(row(cells) for cells in table.rows)]
    if table.total is not None:
        body.append(row(table.total).replace("<tr>", "<tr class=\"total\">", 1))
    return "<table>\n" + "\n".join(body) + "\n</table>"


def section_html(section: Section) -> str:
    parts = [f"<section id=\"{e(section.key)}\">", f"<h2>{e(section.title)}</h2>",
             f"<p class=\"explain\">{e(section.explain)}</p>"]
    parts += [f"<p class=\"note\">{e(note)}</p>" for note in section.notes]
    if section.facts:
        parts.append("<ul class=\"facts\">" + "".join(f"<li>{e(fact)}</li>"
                                                      for fact in section.facts) + "</ul>")
    figures = [] if section.table is None else [
        f"<div class=\"figures\">{table_html(section.table)}</div>"]
    chart = [] if section.chart is None else [
        f"<div class=\"chart\">{chart_html(section.key, section.chart, section.height)}</div>"]
    if section.table is not None and len(section.table.head) > BESIDE_UP_TO_COLUMNS:
        parts.append("<div class=\"under\">" + "\n".join([*chart, *figures]) + "</div>")
    elif figures or chart:
        # The table comes first in the page, shown second: when the chart's script runs, the
        # room left beside the table is known, and the chart is drawn to fit it (under the
        # table's row, at full width, when the table leaves it less than 24em).
        parts.append("<div class=\"pair\">" + "\n".join([*figures, *chart]) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def page_html(title: str, lines: Sequence[str], sections: Sequence[Section],
              plotly_js: str, headline: str = "") -> str:
    """The whole page: its heading, a few lines about what it covers, the one figure that
    matters most (`headline`), then each section."""
    intro = "\n".join(f"<p class=\"lead\">{e(line)}</p>" for line in lines)
    if headline:
        intro += f"\n<p class=\"headline\">{e(headline)}</p>"
    body = "\n".join(section_html(section) for section in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width\">\n<title>{e(title)}</title>\n"
            f"<style>{CSS}</style>\n<script>{plotly_js}</script>\n</head>\n<body>\n"
            f"<h1>{e(title)}</h1>\n{intro}\n{body}\n</body>\n</html>\n")


CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#222;max-width:84em}"
    "h1{margin-bottom:.3em}h2{margin:1.6em 0 .2em;border-bottom:1px solid #ddd;"
    "padding-bottom:.2em}"
    ".lead{margin:.2em 0;font-size:1.05em}.explain{margin:.2em 0 .6em;color:#444}"
    ".note{margin:.2em 0;color:#7a5a00}.facts{margin:.3em 0 .6em;padding-left:1.3em}"
    ".about{color:#666;font-size:.88em}"
    ".headline{font-size:1.25em;background:#f3f6fb;border-left:4px solid #3366aa;"
    "padding:.5em .8em}"
    ".pair{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}"
    ".chart{order:1;flex:1 1 24em;min-width:24em}.figures{order:2;flex:0 1 auto;"
    "max-width:100%;overflow-x:auto}"
    ".under .figures{max-width:100%;margin-top:.5em}"
    "table{border-collapse:collapse;font-size:.92em}"
    "th,td{padding:.25em .7em;border-bottom:1px solid #e3e3e3;vertical-align:top}"
    "th{background:#f4f4f4}.r{text-align:right;font-variant-numeric:tabular-nums}"
    "td.r{white-space:nowrap}.l{text-align:left}td.l{max-width:22em}tr.total td{font-weight:600;"
    "border-top:2px solid #bbb}.none{color:#777}"
)
