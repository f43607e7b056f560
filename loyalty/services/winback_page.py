"""The win-back page: offers issued and used, members who came back, and for each rule with a
holdout the test that proves (or not) what its offer brought against members who got none."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from loyalty.services.page_parts import (
    PALETTE,
    Labels,
    Page,
    Section,
    Table,
    amount,
    as_of_line,
    count,
    currency_of,
    e,
    figure,
    in_words,
    money,
    named,
    percent,
    plotted,
    share,
)

GROUPS = (("offer", "got the offer"), ("control", "held out: no offer"))


def winback_page(data: Mapping[str, Any], labels: Labels) -> Page:
    currency = currency_of(data, labels)
    offers = list(data.get("offers") or [])
    experiments = list(data.get("experiments") or [])
    sections = [_offers(offers, labels, currency)]
    if experiments:
        sections.append(_uplifts(experiments, labels, currency))
        sections += [_experiment(number, found, name, labels, currency) for number, (found, name)
                     in enumerate(zip(experiments, _names(experiments), strict=True), 1)]
    issued = sum(int(row.get("issued") or 0) for row in offers)
    used = sum(int(row.get("used") or 0) for row in offers)
    headline = (f"{used:,} of {issued:,} win-back offers were used "
                f"({percent(share(used, issued))})." if issued else
                "No win-back offer issued yet.")
    if experiments:
        proven = sum(1 for found in experiments if _verdict(found) == PROVEN_MORE)
        headline += (f" Tested against members held out, {proven} of {len(experiments)} "
                     "win-back rules proved to bring more members back.")
    lines = [line for line in (as_of_line(data),) if line]
    return "Win-back", lines, headline, sections


def _offer_name(row: Mapping[str, Any], labels: Labels) -> str:
    name = named(row.get("offer_code"), labels.offers)
    return f"{name}\ncampaign {row['campaign']}" if row.get("campaign") else name


def _offers(offers: Sequence[Mapping[str, Any]], labels: Labels, currency: str) -> Section:
    names = [e(row.get("offer_code")) for row in offers]
    chart = figure([
        go.Bar(x=names, y=[int(row.get("issued") or 0) for row in offers], name="issued"),
        go.Bar(x=names, y=[int(row.get("used") or 0) for row in offers], name="used"),
        go.Bar(x=names, y=[int(row.get("members_won_back") or 0) for row in offers],
               name="members who came back")], y_title="offers / members")
    table = Table(("offer", "issued", "used", "used of issued", "members offered",
                   "members who came back", f"their spend since ({currency})"), [
        (_offer_name(row, labels), count(row.get("issued")), count(row.get("used")),
         percent(row.get("use_rate")), count(row.get("members_offered")),
         count(row.get("members_won_back")), money(row.get("spend_since_use"), currency))
        for row in offers], "lrrrrrr")
    return Section("offers", "Win-back offers",
                   "Offers sent to members drifting away, how many were used, how many members "
                   "came back with one, and what those members spent from then on.", chart,
                   table)


def _rule_name(found: Mapping[str, Any], labels: Labels) -> str:
    return named(found.get("rule_id"), labels.rules)


def _points(value: Any) -> str:
    """A difference of two shares in percentage points, with its sign."""
    if value is None:
        return "-"
    return f"{float(value) * 100:+.1f} points"


def _signed_money(value: Any, currency: str) -> str:
    found = amount(value)
    return "-" if found is None else f"{found:+,.2f} {currency}".rstrip()


def _names(experiments: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each test's rule id, with its holdout setting where a rule was tested more than once."""
    rules = [str(found.get("rule_id")) for found in experiments]
    return [rule if rules.count(rule) == 1 else
            f"{rule} ({found.get('percent')}% held out, {found.get('within_days')} days)"
            for rule, found in zip(rules, experiments, strict=True)]


def _uplifts(experiments: Sequence[Mapping[str, Any]], labels: Labels,
             currency: str) -> Section:
    names = [e(name) for name in _names(experiments)]
    uplift = [found.get("uplift") or {} for found in experiments]
    rate = [_float(u.get("return_rate")) for u in uplift]
    high = [_float(u.get("return_rate_high")) for u in uplift]
    low = [_float(u.get("return_rate_low")) for u in uplift]
    chart = figure([go.Bar(
        x=names, y=rate, name="came back: offer minus held out", marker_color="#55aa66",
        error_y={"type": "data", "symmetric": False, "color": "#333",
                 "array": [None if None in (h, r) else h - r  # type: ignore[operator]
                           for h, r in zip(high, rate, strict=True)],
                 "arrayminus": [None if None in (r, lo) else r - lo  # type: ignore[operator]
                                for r, lo in zip(rate, low, strict=True)]})],
        y_title="more members came back (share of group)", legend=False, percent_axis=True)
    chart.add_hline(y=0, line_color="#888")
    table = Table(("rule", "came back: offer", "came back: held out",
                   "difference (95% interval)", "proven?"), [
        (_rule_name(found, labels), percent(_group(found, "offer").get("return_rate")),
         percent(_group(found, "control").get("return_rate")),
         f"{_points(u.get('return_rate'))}\n{_points(u.get('return_rate_low'))} to "
         f"{_points(u.get('return_rate_high'))}", _verdict(found))
        for found, u in zip(experiments, uplift, strict=True)], "lrrrl")
    notes = ("Intervals use the normal approximation to the difference of two proportions "
             "(and of two means, for spend); they are missing while a group is too small.",)
    return Section("uplift", "What the win-back offers proved",
                   "For each win-back rule tested, how many more members came back when they got "
                   "the offer than when they were held out; the whiskers are the 95% interval, "
                   "and an interval that crosses zero proves nothing yet.", chart, table, notes)


PROVEN_MORE = "yes: more members came back"
PROVEN_FEWER = "yes, the other way: fewer came back"
NOT_PROVEN = "not yet: the interval crosses zero"


def _verdict(found: Mapping[str, Any]) -> str:
    """Whether the test shows the offer brings members back: only when its whole 95% interval
    is on one side of zero."""
    uplift = found.get("uplift") or {}
    low, high = _float(uplift.get("return_rate_low")), _float(uplift.get("return_rate_high"))
    if low is None or high is None:
        return "not yet: too few members"
    if low > 0:
        return PROVEN_MORE
    if high < 0:
        return PROVEN_FEWER
    return NOT_PROVEN


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _group(found: Mapping[str, Any], group: str) -> Mapping[str, Any]:
    return found.get(group) or {}


def _experiment(number: int, found: Mapping[str, Any], name: str, labels: Labels,
                currency: str) -> Section:
    groups = [(label, _group(found, key)) for key, label in GROUPS]
    chart = make_subplots(rows=1, cols=2, subplot_titles=(
        "came back (share of group)", e(f"spend per member ({currency})")))
    for (label, group), colour in zip(groups, PALETTE, strict=False):
        chart.add_trace(go.Bar(x=[e(label)], y=[float(group.get("return_rate") or 0)],
                               name=e(label), marker_color=colour, legendgroup=label), 1, 1)
        chart.add_trace(go.Bar(x=[e(label)], y=[plotted(group.get("spend_per_member"))],
                               name=e(label), marker_color=colour, legendgroup=label,
                               showlegend=False), 1, 2)
    chart.update_layout(template="plotly_white", showlegend=False, margin={"l": 60, "r": 20,
                                                                          "t": 40, "b": 40},
                        font={"family": "system-ui, sans-serif", "size": 13})
    chart.update_yaxes(tickformat=".0%", row=1, col=1)
    uplift = found.get("uplift") or {}
    confidence = float(uplift.get("confidence") or 0.95)

    def row(label: str, key: str, show: Any) -> tuple[str, ...]:
        return (label, *(show(group.get(key)) for _, group in groups))

    rows = [row("members", "members", count), row("came back", "returned", count),
            row("came back, share", "return_rate", percent),
            row(f"spend ({currency})", "spend", lambda v: money(v, currency)),
            row(f"spend per member ({currency})", "spend_per_member",
                lambda v: money(v, currency))]
    level = percent(confidence, 0)
    facts: tuple[str, ...] = (
        f"Difference in coming back: {_points(uplift.get('return_rate'))} ({level} interval "
        f"{_points(uplift.get('return_rate_low'))} to "
        f"{_points(uplift.get('return_rate_high'))}).",
        f"Difference in spend per member: "
        f"{_signed_money(uplift.get('spend_per_member'), currency)} ({level} interval "
        f"{_signed_money(uplift.get('spend_per_member_low'), currency)} to "
        f"{_signed_money(uplift.get('spend_per_member_high'), currency)}).",
        f"Offers used: {count(found.get('offers_used'))}, costing "
        f"{count(found.get('cost_points'))} points ({money(found.get('cost'), currency)}).")
    still_open = sum(int(group.get("open") or 0) for _, group in groups)
    if still_open:
        facts += (f"{still_open:,} more decisions are not counted yet: their "
                  f"{found.get('within_days', '?')}-day window is still open.",)
    table = Table(("", *(label for label, _ in groups)), rows, "lrr")
    campaign = f", campaign {found['campaign']}" if found.get("campaign") else ""
    rule = in_words(found.get("rule_id"), labels.rules)
    explain = (f"{rule}{campaign}. {found.get('percent', '?')}% of the "
               f"members this rule chose were held out at random and got no offer; a member "
               f"counts as back when they bought within {found.get('within_days', '?')} days "
               "of the decision.")
    return Section(f"experiment-{number}", f"Test {number}: {name}", explain,
                   chart, table, facts=facts)
