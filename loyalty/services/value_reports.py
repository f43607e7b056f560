"""Where members' value lies, for marketing: the value pyramid (who brings the revenue, and
whether the top fifth brings most of it), the value matrix (members by value segment, and how
they move between segments month by month) and the lifecycle flow (members by stage, and how
they move between stages month by month).

Revenue is purchases less returns over the `value.current_days` days up to the report's
instant. Tiers, segments and stages are members' standing now, as the last sweep left it; the
month-by-month figures come from the monthly snapshots the sweep takes (see
services/sweep/snapshots.py), for the months up to the report's instant. A few aggregate
statements per report, whatever the number of members.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from loyalty.domain.errors import ValidationFailed
from loyalty.domain.policy import LIFECYCLE_STAGES, VALUE_QUADRANTS, ProgramPolicy
from loyalty.services.context import ServiceContext
from loyalty.services.sweep.snapshots import month_of
from loyalty.services.timing import iso
from loyalty.store import value_queries as q
from loyalty.store.types import from_units

#: The default and the longest run of months the month-by-month figures cover.
DEFAULT_MONTHS = 12
MAX_MONTHS = 36
#: The top fifth: the 80/20 check.
TOP_FIFTH_PERCENT = 20
#: The value bands the top fifth is made of.
TOP_FIFTH_BANDS = frozenset(label for label, edge in q.BANDS if edge <= TOP_FIFTH_PERCENT)


def share(part: int, whole: int) -> float | None:
    """`part` of `whole` as a fraction rounded to 4 places; None when `whole` is not positive."""
    return round(part / whole, 4) if whole > 0 else None


def money(value_units: int) -> str:
    return str(from_units(value_units))


def first_month(at: datetime, months: int) -> date:
    """The first of the `months` months that end with the month of `at`."""
    month = month_of(at)
    index = month.year * 12 + month.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _ordered(known: Iterable[str], found: Iterable[str]) -> list[str]:
    """`known` in its order, then anything else `found` (leftover names), alphabetically."""
    names = list(known)
    return names + sorted(set(found) - set(names))


def _window(policy: ProgramPolicy) -> int:
    return int(policy.value.current_days)


def _checked_months(months: int) -> int:
    """`months`, or `ValidationFailed` naming it when it is not from 1 to `MAX_MONTHS`."""
    if not 1 <= months <= MAX_MONTHS:
        problem = f"months must be from 1 to {MAX_MONTHS}, not {months}."
        raise ValidationFailed(problem, details={"fields": {"months": [problem]}})
    return months


# -- the pyramid ---------------------------------------------------------------------------


def _tiers(policy: ProgramPolicy, rows: Sequence[Any], total: int) -> list[dict[str, Any]]:
    by_tier = {row.tier: row for row in rows}
    order = _ordered(reversed(policy.tier_names), by_tier)
    result = []
    for tier in order:
        row = by_tier.get(tier)
        revenue = int(row.revenue) if row is not None else 0
        result.append({"tier": tier, "members": int(row.members) if row is not None else 0,
                       "revenue": money(revenue), "share_of_revenue": share(revenue, total)})
    return result


def _bands(rows: Sequence[Any], members: int, total: int) -> list[dict[str, Any]]:
    revenue_of = {row.band: int(row.revenue) for row in rows}
    return [{"band": label, "members": size, "revenue": money(revenue_of.get(label, 0)),
             "share_of_revenue": share(revenue_of.get(label, 0), total)}
            for label, size in q.band_sizes(members).items()]


def top_fifth_count(members: int) -> int:
    """How many members are the top fifth: a fifth of them, rounded up."""
    return math.ceil(members * TOP_FIFTH_PERCENT / 100)


def _pyramid_months(conn: Any, at: datetime, months: int) -> list[dict[str, Any]]:
    totals = q.snapshot_totals(conn, first_month(at, months), month_of(at))
    tops = q.top_spend(conn, {row.month: top_fifth_count(int(row.members)) for row in totals})
    return [{"month": month_label(row.month), "members": int(row.members),
             "revenue": money(int(row.spend)),
             "top_fifth_share": share(tops.get(row.month, 0), int(row.spend))}
            for row in totals]


def pyramid(ctx: ServiceContext, as_of: datetime | None = None,
            months: int = DEFAULT_MONTHS) -> dict[str, Any]:
    """Members and revenue per tier (top tier first) and per value band (members ranked by
    revenue: top 1%, 1-5%, 5-20%, 20-50%, bottom 50%), the top fifth's share of revenue, and
    per month the snapshot's members, their spend over the year before and the top fifth's
    share of it."""
    at = ctx.clock() if as_of is None else as_of
    months = _checked_months(months)
    policy = ctx.book(at).policy
    days = _window(policy)
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        q.room_to_sort(conn)
        tiers = q.revenue_by_tier(conn, at, days)
        members = sum(int(row.members) for row in tiers)
        bands = q.revenue_by_band(conn, at, days, members)
        trend = _pyramid_months(conn, at, months)
    total = sum(int(row.revenue) for row in tiers)
    band_rows = _bands(bands, members, total)
    top = [row for row in band_rows if row["band"] in TOP_FIFTH_BANDS]
    top_revenue = sum(int(row.revenue) for row in bands if row.band in TOP_FIFTH_BANDS)
    return {
        "as_of": iso(at), "currency": policy.currency, "window_days": days,
        "members": members, "revenue": money(total),
        "tiers": _tiers(policy, tiers, total),
        "value_bands": band_rows,
        "top_fifth": {"members": sum(row["members"] for row in top),
                      "revenue": money(top_revenue),
                      "share_of_revenue": share(top_revenue, total)},
        "months": trend,
    }


# -- month-by-month movement -----------------------------------------------------------------


def _movement(rows: Sequence[Any], counts_of: Any, moves_key: str) -> list[dict[str, Any]]:
    """Per month: where members stand (`counts_of` shapes the counts), how many had no row the
    month before (`joined`), and the moves of the others from where they stood then (staying
    put is a move from a place to itself)."""
    by_month: dict[date, list[Any]] = {}
    for row in rows:
        by_month.setdefault(row.month, []).append(row)
    result = []
    for month, month_rows in sorted(by_month.items()):
        here: dict[str | None, int] = {}
        moves: dict[tuple[str | None, str | None], int] = {}
        joined = 0
        for row in month_rows:
            n = int(row.members)
            here[row.current] = here.get(row.current, 0) + n
            if row.had_row_before:
                key = (row.previous, row.current)
                moves[key] = moves.get(key, 0) + n
            else:
                joined += n
        ordered = sorted(moves.items(), key=lambda item: (-item[1], str(item[0])))
        result.append({"month": month_label(month), **counts_of(here), "joined": joined,
                       moves_key: [{"from": before, "to": now, "members": n}
                                 for (before, now), n in ordered]})
    return result


# -- the value matrix ------------------------------------------------------------------------


def quadrant_names(policy: ProgramPolicy) -> dict[str, str]:
    """Quadrant -> the segment name marketing gave it in program.yaml."""
    return {quadrant: getattr(policy.value.segments, quadrant) for quadrant in VALUE_QUADRANTS}


def value_matrix(ctx: ServiceContext, as_of: datetime | None = None,
                 months: int = DEFAULT_MONTHS) -> dict[str, Any]:
    """Members per value segment (with the quadrant each stands for) with their current and
    potential value and their revenue, how many are not valued yet, and per month the members
    of each segment and the moves between segments since the month before."""
    at = ctx.clock() if as_of is None else as_of
    months = _checked_months(months)
    policy = ctx.book(at).policy
    names = quadrant_names(policy)
    days = _window(policy)
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        q.room_to_sort(conn)
        rows = q.revenue_by_segment(conn, at, days)
        moves = q.snapshot_moves(conn, first_month(at, months), month_of(at), "value_segment")
    by_segment = {row.segment: row for row in rows if row.segment is not None}
    quadrant_of = {name: quadrant for quadrant, name in names.items()}
    segments = []
    for name in _ordered(names.values(), by_segment):
        row = by_segment.get(name)
        segments.append({
            "quadrant": quadrant_of.get(name), "segment": name,
            "members": int(row.members) if row is not None else 0,
            "current_value": money(int(row.current_value) if row is not None else 0),
            "potential_value": money(int(row.potential_value) if row is not None else 0),
            "revenue": money(int(row.revenue) if row is not None else 0),
        })
    unvalued = sum(int(row.members) for row in rows if row.segment is None)
    valued_at = max((row.valued_at for row in rows if row.valued_at is not None), default=None)
    order = list(names.values())

    def counts_of(here: dict[str | None, int]) -> dict[str, Any]:
        found = [name for name in here if name is not None]
        return {"counts": {name: here.get(name, 0) for name in _ordered(order, found)},
                "unvalued": here.get(None, 0)}

    return {
        "as_of": iso(at), "currency": policy.currency, "window_days": days,
        "valued_at": iso(valued_at), "segments": segments, "unvalued": unvalued,
        "months": _movement(moves, counts_of, "moves"),
    }


# -- the lifecycle -----------------------------------------------------------------------------


def lifecycle(ctx: ServiceContext, as_of: datetime | None = None,
              months: int = DEFAULT_MONTHS) -> dict[str, Any]:
    """Members per lifecycle stage, and per month the members in each stage and the flows
    between stages since the month before."""
    at = ctx.clock() if as_of is None else as_of
    months = _checked_months(months)
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        q.room_to_sort(conn)
        rows = q.members_by_stage(conn, at)
        moves = q.snapshot_moves(conn, first_month(at, months), month_of(at),
                                 "lifecycle_stage")
    by_stage = {row.stage: int(row.members) for row in rows}

    def counts_of(here: dict[str | None, int]) -> dict[str, Any]:
        found = [name for name in here if name is not None]
        return {"stages": {name: here.get(name, 0)
                           for name in _ordered(LIFECYCLE_STAGES, found)}}

    return {
        "as_of": iso(at),
        "stages": [{"stage": stage, "members": by_stage.get(stage, 0)}
                   for stage in _ordered(LIFECYCLE_STAGES, by_stage)],
        "months": _movement(moves, counts_of, "flows"),
    }
