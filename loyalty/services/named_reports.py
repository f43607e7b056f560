"""The reports marketing reads, by name: what each takes (an instant, a run of months), its
figures as the API returns them, and its page, with the programme's own words beside its ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty.domain.decisions import IssueOffer, RuleBook
from loyalty.domain.errors import ValidationFailed
from loyalty.domain.policy import LifecyclePolicy, ProgramPolicy
from loyalty.services import reports, value_reports
from loyalty.services.context import ServiceContext
from loyalty.services.liability import liability
from loyalty.services.page_parts import Labels
from loyalty.services.report_pages import render_html
from loyalty.services.value_pages import QUADRANT_MEANING

Reader = Callable[[ServiceContext, "datetime | None", "int | None"], dict[str, Any]]


@dataclass(frozen=True)
class NamedReport:
    """A report: how to read it, and whether it takes an instant and a run of months."""

    name: str
    read: Reader
    as_of: bool
    months: bool


def _months(months: int | None) -> int:
    return value_reports.DEFAULT_MONTHS if months is None else months


REPORTS: dict[str, NamedReport] = {report.name: report for report in (
    NamedReport("overview", lambda ctx, _at, _months: reports.overview(ctx), False, False),
    NamedReport("liability", lambda ctx, at, _months: liability(ctx, at), True, False),
    NamedReport("winback", lambda ctx, at, _months: reports.winback(ctx, at), True, False),
    NamedReport("pyramid", lambda ctx, at, months: value_reports.pyramid(
        ctx, at, _months(months)), True, True),
    NamedReport("value-matrix", lambda ctx, at, months: value_reports.value_matrix(
        ctx, at, _months(months)), True, True),
    NamedReport("lifecycle", lambda ctx, at, months: value_reports.lifecycle(
        ctx, at, _months(months)), True, True),
)}


def _refuse(field: str, problem: str) -> ValidationFailed:
    return ValidationFailed(problem, details={"fields": {field: [problem]}})


def find(name: str) -> NamedReport:
    """The report called `name`; `ValidationFailed` naming the reports there are otherwise."""
    found = REPORTS.get(name)
    if found is None:
        raise _refuse("name", f"no report is called {name!r}; the reports are "
                              f"{', '.join(REPORTS)}.")
    return found


def read_report(ctx: ServiceContext, name: str, as_of: datetime | None = None,
                months: int | None = None) -> dict[str, Any]:
    """The figures of report `name`, as of `as_of` (default: now) over `months` months (the
    reports with a month-by-month part; default 12). A report that is always taken as things
    stand now refuses an `as_of`, one without months refuses `months`."""
    report = find(name)
    if as_of is not None and not report.as_of:
        raise _refuse("as_of", f"the {name} report shows members as they stand now: it takes "
                               "no as_of.")
    if months is not None and not report.months:
        raise _refuse("months", f"the {name} report has no month-by-month part: it takes no "
                                "months.")
    return report.read(ctx, as_of, months)


def report_page(ctx: ServiceContext, name: str, as_of: datetime | None = None,
                months: int | None = None) -> str:
    """Report `name` as one self-contained HTML page."""
    data = read_report(ctx, name, as_of, months)
    return render_html(name, data, labels(ctx.book(as_of)))


def labels(book: RuleBook) -> Labels:
    """What the programme calls its tiers, stages, segments, rules and offers."""
    policy = book.policy
    rules = tuple(getattr(book, "rules", ()))  # a compiled book lists its rules
    offers = {effect.effect.offer_id: effect.effect.description
              for rule in rules for effect in getattr(rule, "effects", ())
              if isinstance(effect.effect, IssueOffer) and effect.effect.description}
    return Labels(
        currency=policy.currency,
        tiers={level.tier: level.description for level in
               (policy.tiers.levels if policy.tiers else ()) if level.description},
        stages=stage_meanings(policy.lifecycle),
        segments=_segments(policy),
        rules={str(rule.id): str(rule.description) for rule in rules if rule.description},
        offers=offers,
    )


def _segments(policy: ProgramPolicy) -> dict[str, str]:
    names = value_reports.quadrant_names(policy)
    return {name: QUADRANT_MEANING[quadrant] for quadrant, name in names.items()}


def stage_meanings(lifecycle: LifecyclePolicy) -> dict[str, str]:
    """Each lifecycle stage in plain words, with the programme's own thresholds."""
    measure = "spending" if lifecycle.growing_measure == "spend" else "buying"
    declining = f"no purchase for {lifecycle.declining_days} days"
    if lifecycle.visits_drop_percent:
        declining += (f", or buying at under {100 - lifecycle.visits_drop_percent}% of their "
                      "usual pace")
    return {
        "new": f"joined in the last {lifecycle.new_days} days (not bought yet: the last "
               f"{lifecycle.declining_days})",
        "dormant": f"joined over {lifecycle.declining_days} days ago and never bought",
        "growing": f"{measure} at least {lifecycle.growing_percent}% more over the last "
                   f"{lifecycle.growing_days} days than their own usual",
        "mature": "buying steadily, as they usually do",
        "declining": declining,
        "lapsed": f"no purchase for {lifecycle.lapsed_days} days",
        "churned": f"no purchase for {lifecycle.churned_days} days",
    }
