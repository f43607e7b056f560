"""Relatives and important dates: who matters to a member, and the days to remember each year.

A date is a month and a day, and the year when it is known (a birthday's year of birth, a
wedding's year). It recurs every year after that year; 29 February falls on 28 February in
other years, as members' own birthdays do.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

#: What a relative is to the member.
RELATIONS = ("spouse", "partner", "child", "parent", "sibling", "friend", "other")
#: What an important date is.
DATE_KINDS = ("birthday", "wedding_anniversary", "anniversary", "other")
#: How a member's usual spend per purchase compares with the programme's other members.
SPEND_BANDS = ("low", "medium", "high")
#: The most relatives and dates one member may record.
MAX_RELATIVES = 20
MAX_DATES = 50
#: The earliest year a date may give (a grandparent's birth year, an old wedding).
EARLIEST_YEAR = 1900


@dataclass(frozen=True)
class AddRelative:
    """A relative a member records; `relative_id` is chosen by the caller (a retry repeats it)."""

    relative_id: str
    member_id: str
    relation: str
    name: str
    fingerprint: str


@dataclass(frozen=True)
class AddDate:
    """An important date a member records; `date_id` is chosen by the caller."""

    date_id: str
    member_id: str
    kind: str
    month: int
    day: int
    fingerprint: str
    year: int | None = None
    label: str | None = None
    relative_id: str | None = None


def date_problems(month: int, day: int, year: int | None, today: date) -> list[str]:
    """Why (month, day, year) is not a day to remember, if it is not: no such day, or a year
    before 1900 or after `today`."""
    if not 1 <= month <= 12:
        return ["The month is from 1 to 12."]
    if year is not None and not EARLIEST_YEAR <= year <= today.year:
        return [f"The year is from {EARLIEST_YEAR} to {today.year}, or left out."]
    longest = calendar.monthrange(year if year is not None else 2000, month)[1]
    if not 1 <= day <= longest:
        when = f"{calendar.month_name[month]} {year}" if year is not None \
            else calendar.month_name[month]
        return [f"{when} has no day {day}: it has {longest} days."]
    if year is not None and date(year, month, day) > today:
        return ["The day has not come yet: a date to remember is one that has happened."]
    return []


def on_year(year: int, month: int, day: int) -> date:
    """(month, day) in `year`; 29 February is 28 February in a common year."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def next_occurrence(month: int, day: int, year: int | None, first: date,
                    last: date) -> date | None:
    """The first yearly recurrence of the date in [first, last], after its own year if known."""
    for candidate_year in range(first.year, last.year + 1):
        if year is not None and candidate_year <= year:
            continue
        candidate = on_year(candidate_year, month, day)
        if first <= candidate <= last:
            return candidate
    return None


def upcoming(month: int, day: int, year: int | None, today: date) -> date:
    """The date's next recurrence on or after `today`."""
    found = next_occurrence(month, day, year, today, date(today.year + 1, 12, 31))
    assert found is not None  # every year has the day (29 February falls on the 28th)
    return found


def spend_band(usual: Decimal, low_up_to: Decimal, high_above: Decimal) -> str:
    """`usual` as a band: low up to `low_up_to` (the top of the lowest third of the
    programme's members), high above `high_above` (the top of the middle third), medium
    between; when the two are equal (no spread), that value itself is medium."""
    if usual > high_above:
        return "high"
    if usual < low_up_to or (usual == low_up_to and low_up_to < high_above):
        return "low"
    return "medium"
