"""A backtest report as JSON, as a terminal table and as a self-contained HTML page."""

from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

WIDTH = 100
GAP = "  "
NO_POINT_VALUE = "no point_value in program.yaml: costs not computed"
ORDER = ("period", "draft", "against", "currency", "point_value", "occurrences", "totals",
         "differing_decisions", "points_difference", "cost_difference", "per_rule", "per_tier",
         "per_day", "tier_differences", "members_most_affected", "samples", "replay_check")
TOTALS = (("points issued", "points_issued"), ("points clawed back", "points_clawed_back"),
          ("net points", "net_points"), ("rewards", "rewards"), ("vouchers", "vouchers"),
          ("offers issued", "offers_issued"), ("offers used", "offers_used"),
          ("redemptions refused", "redemptions_refused"), ("tier changes", "tier_changes"),
          ("held out (control groups)", "held_out"))
OCCURRENCES = ("purchases", "returns", "events", "redemptions")
WEEKLY_UP_TO_DAYS = 183  # a longer period is summarised by month


@dataclass(frozen=True)
class _Table:
    title: str
    head: tuple[str, ...]
    rows: Sequence[Sequence[str]]
    align: str  # "l" or "r" per column


def render_json(report: Mapping[str, Any]) -> str:
    """The report as indented JSON, its keys in the report's documented order."""
    ordered = {key: report[key] for key in ORDER if key in report}
    ordered.update((key, value) for key, value in report.items() if key not in ordered)
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def render_table(report: Mapping[str, Any]) -> str:
    """The report as plain text with aligned columns, readable at 100 columns."""
    lines = [*_header(report), ""]
    tables = _tables(report)
    lines += _text_table(tables[0])
    lines += [f"Occurrences whose decisions differ: {_int(report.get('differing_decisions'))}", ""]
    for table in tables[1:]:
        lines += _text_table(table)
    lines += _text_samples(report.get("samples") or [])
    lines += _replay_lines(report.get("replay_check"))
    return "\n".join(lines).rstrip() + "\n"


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one HTML page that works offline: summary tables, two charts, samples."""
    header = _header(report)
    parts = [f"<p>{_e(line)}</p>" for line in header[1:]]
    tables = _tables(report)
    parts.append(_html_table(tables[0]))
    parts.append(f"<p>Occurrences whose decisions differ: "
                 f"{_e(_int(report.get('differing_decisions')))}</p>")
    parts.append(_charts(report))
    parts += [_html_table(table) for table in tables[1:]]
    parts.append(_html_samples(report.get("samples") or []))
    parts.append(_html_replay(report.get("replay_check")))
    title = _title(report)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{_e(title)}</h1>\n" + "\n".join(parts) + "\n</body>\n</html>\n")


def _title(report: Mapping[str, Any]) -> str:
    period = report.get("period") or {}
    return (f"Backtest: {_label(report, 'draft')} against {_label(report, 'against')}, "
            f"{period.get('from')} to {period.get('to')}")


def _header(report: Mapping[str, Any]) -> list[str]:
    period = report.get("period") or {}
    seen = report.get("occurrences") or {}
    line = f"Period: {period.get('from')} to {period.get('to')} ({_days(period)} days)"
    line += f", shard {period.get('shard', '1/1')}"
    if period.get("ignore_windows"):
        line += ", rule windows ignored"
    kinds = [*OCCURRENCES, *(["adjustments"] if seen.get("adjustments") else [])]
    counted = ", ".join(f"{_int(seen.get(kind))} {kind}" for kind in kinds)
    value = report.get("point_value")
    return [f"Backtest: {_label(report, 'draft')} against {_label(report, 'against')}", line,
            f"Occurrences: {counted}; {_int(seen.get('members'))} members",
            f"Point value: 1 point = {value} {report.get('currency', '')}".rstrip()
            if value is not None
            else NO_POINT_VALUE]


def _tables(report: Mapping[str, Any]) -> list[_Table]:
    return [_totals(report), _per_rule(report), _per_tier(report), _per_period(report),
            _members(report), _tier_differences(report)]


def _totals(report: Mapping[str, Any]) -> _Table:
    totals = report.get("totals") or {}
    draft, against = totals.get("draft") or {}, totals.get("against") or {}
    stated = {"net_points": report.get("points_difference")}
    rows = [(label, _int(draft.get(key)), _int(against.get(key)),
             _signed(stated.get(key, _diff(draft.get(key), against.get(key)))))
            for label, key in TOTALS]
    if _costs(report):
        rows.insert(3, (f"cost ({report.get('currency', '')})", _money(draft.get("cost")),
                        _money(against.get("cost")), _money(report.get("cost_difference"), True)))
    stock_draft, stock_against = draft.get("stock_used") or {}, against.get("stock_used") or {}
    for reward in sorted({*stock_draft, *stock_against}):
        used, was = stock_draft.get(reward, 0), stock_against.get(reward, 0)
        rows.append((f"stock used: {reward}", _int(used), _int(was), _signed(used - was)))
    return _Table("Totals", ("", "draft", "against", "difference"), rows, "lrrr")


def _sorted_rules(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return sorted(report.get("per_rule") or [],
                  key=lambda rule: (-abs(_difference(rule)), str(rule.get("rule_id"))))


def _per_rule(report: Mapping[str, Any]) -> _Table:
    costs = _costs(report)
    head: tuple[str, ...] = ("rule", "draft", "against", "difference")
    if costs:
        head += ("draft cost", "against cost")
    rows = []
    for rule in _sorted_rules(report):
        row: tuple[str, ...] = (str(rule.get("rule_id")), _int(rule.get("draft_points")),
               _int(rule.get("against_points")), _signed(_difference(rule)))
        if costs:
            row += (_money(rule.get("draft_cost")), _money(rule.get("against_cost")))
        rows.append(row)
    return _Table("Points per rule, largest difference first", head, rows, "lrrrrr")


def _per_tier(report: Mapping[str, Any]) -> _Table:
    rows = [(str(tier.get("tier")), _int(tier.get("draft_points")),
             _int(tier.get("against_points")), _signed(_difference(tier)))
            for tier in report.get("per_tier") or []]
    return _Table("Points per tier", ("tier", "draft", "against", "difference"), rows, "lrrr")


def _per_period(report: Mapping[str, Any]) -> _Table:
    days = _days(report.get("period") or {})
    buckets: dict[str, list[Mapping[str, Any]]] = {}
    if days <= 31:
        title, first = "Per day", "date"
        for day in report.get("per_day") or []:
            buckets.setdefault(str(day.get("date")), []).append(day)
    else:
        weekly = days <= WEEKLY_UP_TO_DAYS
        title = (f"Per week, Monday to Sunday ({days} days in the period)" if weekly
                 else f"Per month ({days} days in the period)")
        first = "week of" if weekly else "month"
        for day in report.get("per_day") or []:
            when = date.fromisoformat(str(day.get("date"))[:10])
            bucket = ((when - timedelta(days=when.weekday())).isoformat() if weekly
                      else when.isoformat()[:7])
            buckets.setdefault(bucket, []).append(day)
    costs = _costs(report)
    head: tuple[str, ...] = (first, "draft", "against", "difference")
    if costs:
        head += ("draft cost", "against cost")
    rows = []
    for key, group in buckets.items():
        draft = sum(int(day.get("draft_points", 0)) for day in group)
        against = sum(int(day.get("against_points", 0)) for day in group)
        row: tuple[str, ...] = (key, _int(draft), _int(against), _signed(draft - against))
        if costs:
            row += (_money(_sum(day.get("draft_cost") for day in group)),
                    _money(_sum(day.get("against_cost") for day in group)))
        rows.append(row)
    return _Table(title, head, rows, "lrrrrr")


def _members(report: Mapping[str, Any]) -> _Table:
    rows = [(str(member.get("member_id")), _int(member.get("draft_points")),
             _int(member.get("against_points")), _signed(_difference(member)))
            for member in report.get("members_most_affected") or []]
    return _Table("Members most affected", ("member", "draft", "against", "difference"), rows,
                  "lrrr")


def _tier_differences(report: Mapping[str, Any]) -> _Table:
    found = report.get("tier_differences") or {}
    members = found.get("members") or []
    count = int(found.get("count", len(members)))
    title = f"Tier differences: {count:,} members"
    if count > len(members):
        title += f" (showing {len(members):,})"
    rows = [(str(member.get("member_id")), str(member.get("draft_tier")),
             str(member.get("against_tier")), _yes(member.get("draft_vip")),
             _yes(member.get("against_vip")))
            for member in members]
    return _Table(title, ("member", "draft tier", "against tier", "draft VIP", "against VIP"),
                  rows, "lllll")


def _text_table(table: _Table) -> list[str]:
    if not table.rows:
        return [table.title, "  none", ""]
    return [table.title, *_grid(table.head, table.rows, table.align), ""]


def _grid(head: Sequence[str], rows: Iterable[Sequence[str]], align: str,
          indent: int = 2) -> list[str]:
    """Aligned columns under a ruled header; the first column is shortened to fit WIDTH and
    a last left-aligned column is prose, wrapped rather than padded."""
    table = [list(head), *(list(row) for row in rows)]
    count = len(head)
    widths = [max(len(row[i]) for row in table) for i in range(count)]
    prose = count > 1 and align[count - 1] == "l"
    rest = sum(widths[1:]) - (widths[-1] - min(widths[-1], 24) if prose else 0)
    widths[0] = min(widths[0], max(12, WIDTH - indent - rest - len(GAP) * (count - 1)))
    offset = indent + sum(widths[:-1]) + len(GAP) * (count - 1)
    lines = []
    for number, row in enumerate(table):
        cells = [_fit(row[0], widths[0]).ljust(widths[0])]
        cells += [cell.ljust(width) if side == "l" else cell.rjust(width)
                  for cell, width, side in zip(row[1:-1], widths[1:-1], align[1:], strict=False)]
        last = row[-1] if count > 1 else ""
        if count > 1 and not prose:
            cells.append(last.rjust(widths[-1]))
        line = " " * indent + GAP.join(cells)
        if prose:
            room = max(WIDTH - offset, 24)
            wrapped = textwrap.wrap(last, room) or [""]
            line += GAP + wrapped[0]
            lines.append(line.rstrip())
            lines += [" " * offset + more for more in wrapped[1:]]
        else:
            lines.append(line.rstrip())
        if number == 0:
            lines.append(" " * indent + "-" * min(WIDTH - indent, max(len(lines[-1]) - indent,
                                                                      offset - indent)))
    return lines


def _text_samples(samples: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [f"Samples ({len(samples):,})"]
    if not samples:
        return [*lines, "  none", ""]
    for sample in samples:
        lines.append(f"  {_sample_heading(sample)}")
        lines += _grid(("side", "rule", "effect", "points", "reason"),
                       _decision_rows(sample), "lllrl", indent=4)
        for text in sample.get("explanation") or []:
            lines += textwrap.wrap(str(text), WIDTH, initial_indent="    | ",
                                   subsequent_indent="    |   ") or ["    |"]
        lines.append("")
    return lines


def _sample_heading(sample: Mapping[str, Any]) -> str:
    return (f"{sample.get('source_id')}  {sample.get('kind')}  member {sample.get('member_id')}"
            f"  at {sample.get('occurred_at')}")


def _decision_rows(sample: Mapping[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for side in ("draft", "against"):
        decisions = sample.get(side) or []
        if not decisions:
            rows.append((side, "(no decision)", "", "", ""))
        for decision in decisions:
            points = decision.get("points")
            rows.append((side, str(decision.get("rule_id")), str(decision.get("effect")),
                         "" if points is None else _signed(points),
                         str(decision.get("reason", ""))))
    return rows


def _replay_lines(check: Mapping[str, Any] | None) -> list[str]:
    if not check:
        return []
    compared, differences = int(check.get("compared", 0)), int(check.get("differences", 0))
    figures = f"{compared:,} occurrences, {differences:,} differences"
    if not differences:
        return [f"Replaying the rules in force reproduces the recorded ledger: {figures}"]
    lines = [f"Replaying the rules in force differs from the recorded ledger: {figures}"]
    for example in check.get("examples") or []:
        lines += textwrap.wrap(str(example), WIDTH, initial_indent="  e.g. ",
                               subsequent_indent="       ")
    return lines


def _html_replay(check: Mapping[str, Any] | None) -> str:
    if not check:
        return ""
    shown = check.get("examples") or [] if check.get("differences") else []
    examples = "".join(f"<li>{_e(example)}</li>" for example in shown)
    return f"<p>{_e(_replay_lines(check)[0])}</p>" + (f"\n<ul>{examples}</ul>" if shown else "")


def _charts(report: Mapping[str, Any]) -> str:
    days = report.get("per_day") or []
    dates = [str(day.get("date")) for day in days]
    if _costs(report):
        title, unit = "Cost per day, draft against current", str(report.get("currency", ""))
        draft = [Decimal(str(day.get("draft_cost") or 0)) for day in days]
        against = [Decimal(str(day.get("against_cost") or 0)) for day in days]
    else:
        title, unit = "Points per day, draft against current", "points"
        draft = [Decimal(int(day.get("draft_points", 0))) for day in days]
        against = [Decimal(int(day.get("against_points", 0))) for day in days]
    per_day = go.Figure([go.Scatter(x=dates, y=draft, name="draft", mode="lines+markers"),
                         go.Scatter(x=dates, y=against, name="against", mode="lines+markers")])
    per_day.update_layout(title=title, yaxis_title=_e(unit), height=420)
    rules = _sorted_rules(report)
    names = [_e(rule.get("rule_id")) for rule in rules]  # plotly shows entities as characters
    per_rule = go.Figure([
        go.Bar(x=names, y=[int(rule.get("draft_points", 0)) for rule in rules], name="draft"),
        go.Bar(x=names, y=[int(rule.get("against_points", 0)) for rule in rules],
               name="against")])
    per_rule.update_layout(title="Points per rule", barmode="group", height=420,
                           xaxis_type="category", yaxis_title="points")
    return "\n".join([
        pio.to_html(per_day, full_html=False, include_plotlyjs=True, div_id="cost-per-day",
                    default_height="420px"),
        pio.to_html(per_rule, full_html=False, include_plotlyjs=False,
                    div_id="points-per-rule", default_height="420px")])


def _html_table(table: _Table, caption: bool = True) -> str:
    def cell(tag: str, text: str, side: str) -> str:
        return f"<{tag} class=\"{'r' if side == 'r' else 'l'}\">{_e(text)}</{tag}>"

    head = "".join(cell("th", text, side) for text, side in zip(table.head, table.align,
                                                                  strict=False))
    body = "\n".join("<tr>" + "".join(cell("td", text, side) for text, side in
                                      zip(row, table.align, strict=False)) + "</tr>"
                     for row in table.rows)
    title = f"<h2>{_e(table.title)}</h2>\n" if caption else ""
    if not table.rows:
        return f"{title}<p>none</p>"
    return f"{title}<table>\n<tr>{head}</tr>\n{body}\n</table>"


def _html_samples(samples: Sequence[Mapping[str, Any]]) -> str:
    parts = [f"<h2>Samples ({len(samples):,})</h2>"]
    for sample in samples:
        decisions = _Table("", ("side", "rule", "effect", "points", "reason"),
                           _decision_rows(sample), "lllrl")
        lines = "".join(f"<li>{_e(text)}</li>" for text in sample.get("explanation") or [])
        parts.append(f"<section class=\"sample\">\n<h3>{_e(_sample_heading(sample))}</h3>\n"
                     f"{_html_table(decisions, caption=False)}\n<ul>{lines}</ul>\n</section>")
    if not samples:
        parts.append("<p>none</p>")
    return "\n".join(parts)


def _label(report: Mapping[str, Any], side: str) -> str:
    return str((report.get(side) or {}).get("label", side))


def _days(period: Mapping[str, Any]) -> int:
    start = datetime.fromisoformat(str(period.get("from"))).date()
    end = datetime.fromisoformat(str(period.get("to"))).date()
    return (end - start).days + 1


def _costs(report: Mapping[str, Any]) -> bool:
    return report.get("point_value") is not None


def _diff(draft: Any, against: Any) -> int:
    return int(draft or 0) - int(against or 0)


def _difference(row: Mapping[str, Any]) -> int:
    stated = row.get("difference")
    if stated is None:
        return _diff(row.get("draft_points"), row.get("against_points"))
    return int(stated)


def _sum(values: Iterable[Any]) -> Decimal | None:
    found = [Decimal(str(value)) for value in values if value is not None]
    return sum(found, Decimal(0)) if found else None


def _int(value: Any) -> str:
    return f"{int(value or 0):,}"


def _signed(value: Any) -> str:
    number = int(value or 0)
    return f"{number:+,}" if number else "0"


def _money(value: Any, signed: bool = False) -> str:
    if value is None:
        return "-"
    amount = Decimal(str(value))
    return format(amount, "+,f") if signed and amount else format(amount, ",f")


def _yes(value: Any) -> str:
    return "yes" if value else "no"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _e(value: Any) -> str:
    return html.escape(str(value))


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{padding:.2em .7em;border-bottom:1px solid #ddd}"
    "th{background:#f4f4f4}.r{text-align:right;font-variant-numeric:tabular-nums}.l{text-align:left}"
    ".sample{border-left:3px solid #ccc;padding-left:1em;margin-bottom:1.5em}"
)
