"""Reminders ahead of the days members asked to remember: `important_date` events.

Each date a member recorded (a relative's birthday, a wedding anniversary, an occasion with a
label) raises `important_date` once a year, on the first sweep that finds its day within
`important_dates.remind_days_before` days (program.yaml) of the sweep's instant, the day
itself included. A skipped sweep day is caught up (the next sweep finds the day still ahead,
nearer), a date recorded after its reminder would have come is reminded by the next sweep, and
a day already past is not reminded late. A date removed, or whose relative was removed, is not
reminded.

The event carries gift ideas from the member's own purchases over the last 365 days:
`suggested_categories` (the categories they spent most on, up to 3), `usual_spend` (the median
of what they paid per purchase, net of returns) and `spend_band`: low, medium or high against
the usual spend of every member who bought in that year, cut into thirds once per sweep instant
(kept in `sweep_runs`, shard `all`, phase `spend-bands`, so every shard and a resumed run use
the same cuts). With fewer than 3 such members every band is medium; a member who bought
nothing has no usual spend and no band (rules testing them find them unknown).
"""

from __future__ import annotations

import hashlib
import logging
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from loyalty.domain.relations import next_occurrence, spend_band
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.store import tables as t
from loyalty.store.relations import (
    RelationsRepository,
    every_member_totals,
    purchase_totals,
    top_categories,
)
from loyalty.store.types import MONEY_SCALE
from loyalty.store.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

EVENT = "important_date"
SHARD = "all"
BANDS_PHASE = "spend-bands"
#: How many categories a reminder suggests.
SUGGESTIONS = 3
#: Below this many members who bought, usual spends are not compared: every band is medium.
MIN_MEMBERS = 3
#: The longest idempotency key a reminder may have: its event id (128 characters at most)
#: is `sweep:` and the key.
KEY_LENGTH = 122
CENTS = Decimal("0.01")
r = t.sweep_runs.c


@dataclass(frozen=True)
class SpendBands:
    """The cuts between the thirds of members' usual spend; None when too few bought."""

    low_up_to: Decimal | None
    high_above: Decimal | None
    members: int

    def band(self, usual: Decimal | None) -> str | None:
        if usual is None:
            return None
        if self.low_up_to is None or self.high_above is None:
            return "medium"
        return spend_band(usual, self.low_up_to, self.high_above)

    def counts(self) -> dict[str, Any]:
        return {"low_up_to": _text(self.low_up_to), "high_above": _text(self.high_above),
                "members": self.members}

    @classmethod
    def parse(cls, counts: dict[str, Any]) -> SpendBands:
        def number(key: str) -> Decimal | None:
            value = counts.get(key)
            return None if value is None else Decimal(value)

        return cls(number("low_up_to"), number("high_above"), int(counts.get("members", 0)))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _twice_median(units: list[int]) -> int:
    """Twice the median of sorted whole numbers: exact, in whole numbers."""
    middle = len(units) // 2
    if len(units) % 2:
        return 2 * units[middle]
    return units[middle - 1] + units[middle]


def compute_bands(uow: SqlUnitOfWork, sweep: Sweep) -> SpendBands:
    """The thirds of every member's usual spend over the year before the sweep's instant."""
    doubled = sorted(_twice_median(units)
                     for units in every_member_totals(uow.connection, sweep.as_of))
    count = len(doubled)
    if count < MIN_MEMBERS:
        return SpendBands(None, None, count)

    def cut(share: int) -> Decimal:
        value = doubled[math.ceil(count * share / 3) - 1]
        return (Decimal(value) / 2 / MONEY_SCALE).normalize()

    return SpendBands(cut(1), cut(2), count)


def _stored(uow: SqlUnitOfWork, sweep: Sweep) -> Any:
    return uow.connection.execute(select(r.counts).where(
        r.as_of == sweep.key, r.shard == SHARD, r.phase == BANDS_PHASE)).scalar()


def spend_bands(sweep: Sweep) -> SpendBands:
    """The bands stored for this instant, or new ones computed and stored."""
    ctx = sweep.ctx
    with ctx.uow(read_only=True) as uow:
        counts = _stored(uow, sweep)
        if counts is not None:
            return SpendBands.parse(counts)
        bands = compute_bands(uow, sweep)
    try:
        with ctx.uow() as uow:
            uow.connection.execute(insert(t.sweep_runs).values(
                as_of=sweep.key, shard=SHARD, phase=BANDS_PHASE, cursor=None, done=True,
                counts=bands.counts(), started_at=sweep.now, finished_at=sweep.now))
            uow.commit()
    except IntegrityError:  # another shard stored them first: theirs are the ones
        with ctx.uow(read_only=True) as uow:
            bands = SpendBands.parse(_stored(uow, sweep))
    log.info("spend bands as of %s: %s", sweep.key, bands.counts())
    return bands


def discriminator(member_id: str, date_id: str, year: int) -> str:
    """What tells one reminder from another: the date and the year of the day reminded; a
    long date id is hashed so that the event id stays within its column."""
    plain = f"{date_id}:{year}"
    if len(f"{EVENT}:{member_id}:{plain}") <= KEY_LENGTH:
        return plain
    return f"{hashlib.sha256(date_id.encode()).hexdigest()[:24]}:{year}"


def usual_spend(totals: list[Decimal]) -> Decimal | None:
    """The median of what a member paid per purchase; None when they bought nothing."""
    return statistics.median(totals) if totals else None


class ImportantDatesPhase:
    """Raise `important_date` ahead of each date members recorded, once a year."""

    name = "important_dates"

    def __init__(self) -> None:
        self.bands: dict[str, SpendBands] = {}

    def prepare(self, sweep: Sweep) -> None:
        with sweep.ctx.uow(read_only=True) as uow:
            if not RelationsRepository(uow.connection).any_dates():
                return  # nothing to remind: the purchases need not be read
        self.bands[sweep.key] = spend_bands(sweep)

    def spend_bands(self, sweep: Sweep) -> SpendBands:
        if sweep.key not in self.bands:
            self.bands[sweep.key] = spend_bands(sweep)
        return self.bands[sweep.key]

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        counts: Counter[str] = Counter()
        today = sweep.as_of.date()
        ahead = sweep.book.policy.important_dates.remind_days_before
        rows = RelationsRepository(uow.connection).dates_of(batch.member_ids())
        due = [(row, day) for row in rows
               if (day := next_occurrence(row.month, row.day, row.year, today,
                                          today + timedelta(days=ahead))) is not None]
        if not due:
            return counts
        members = sorted({row.member_id for row, _ in due})
        totals = purchase_totals(uow.connection, members, sweep.as_of)
        categories = top_categories(uow.connection, members, sweep.as_of, SUGGESTIONS)
        bands = self.spend_bands(sweep)
        for row, day in due:
            usual = usual_spend(totals[row.member_id])
            attributes = {
                "kind": row.kind, "relation": row.relation or "", "name": row.name or "",
                "label": row.label, "date": day.isoformat(), "days_ahead": (day - today).days,
                "suggested_categories": categories[row.member_id],
                "spend_band": bands.band(usual),
                "usual_spend": None if usual is None else str(usual.quantize(CENTS)),
            }
            if sweep.emit(uow, row.member_id, EVENT,
                          discriminator(row.member_id, row.date_id, day.year), attributes):
                counts["reminders"] += 1
        return counts
