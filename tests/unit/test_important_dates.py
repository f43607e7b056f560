"""The arithmetic of important dates: which days exist, when a date comes next, how a member's
usual spend is banded, and how reminders are told apart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from loyalty.domain.relations import date_problems, next_occurrence, spend_band, upcoming
from loyalty.services.sweep.important_dates import (
    EVENT,
    KEY_LENGTH,
    SpendBands,
    _twice_median,
    discriminator,
    usual_spend,
)

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(("month", "day", "year"), [
    (2, 29, None), (2, 29, 2024), (12, 31, 1900), (11, 20, 2026), (1, 1, None)])
def test_days_that_exist_and_have_happened_are_accepted(month: int, day: int,
                                                        year: int | None) -> None:
    assert date_problems(month, day, year, TODAY) == []


@pytest.mark.parametrize(("month", "day", "year", "problem"), [
    (4, 31, None, "April has no day 31: it has 30 days."),
    (2, 30, None, "February has no day 30: it has 29 days."),
    (2, 29, 2023, "February 2023 has no day 29: it has 28 days."),
    (0, 1, None, "The month is from 1 to 12."),
    (1, 0, None, "January has no day 0: it has 31 days."),
    (1, 1, 1899, "The year is from 1900 to 2026, or left out."),
    (11, 21, 2026, "The day has not come yet: a date to remember is one that has happened."),
])
def test_days_that_cannot_be_remembered_say_why(month: int, day: int, year: int | None,
                                                problem: str) -> None:
    assert date_problems(month, day, year, TODAY) == [problem]


def test_a_date_comes_next_within_the_window_only() -> None:
    assert next_occurrence(12, 3, None, TODAY, date(2026, 11, 27)) is None
    assert next_occurrence(12, 3, None, date(2026, 11, 26), date(2026, 12, 3)) == date(2026, 12, 3)
    assert next_occurrence(1, 2, None, date(2026, 12, 28), date(2027, 1, 4)) == date(2027, 1, 2)


def test_29_february_falls_on_28_february_in_a_common_year() -> None:
    assert upcoming(2, 29, 1992, TODAY) == date(2027, 2, 28)
    assert upcoming(2, 29, 1992, date(2028, 1, 1)) == date(2028, 2, 29)


def test_a_date_comes_back_only_after_its_own_year() -> None:
    assert upcoming(11, 20, 2026, TODAY) == date(2027, 11, 20)
    assert upcoming(11, 20, 2025, TODAY) == date(2026, 11, 20)
    assert next_occurrence(11, 22, 2026, TODAY, date(2026, 11, 27)) is None


@pytest.mark.parametrize(("usual", "band"), [
    ("100", "low"), ("200", "low"), ("200.01", "medium"), ("400", "medium"),
    ("400.01", "high")])
def test_usual_spend_is_banded_by_the_two_cuts(usual: str, band: str) -> None:
    assert spend_band(Decimal(usual), Decimal(200), Decimal(400)) == band


def test_with_no_spread_the_common_value_is_medium() -> None:
    assert spend_band(Decimal(300), Decimal(300), Decimal(300)) == "medium"
    assert spend_band(Decimal(299), Decimal(300), Decimal(300)) == "low"
    assert spend_band(Decimal(301), Decimal(300), Decimal(300)) == "high"


def test_too_few_buying_members_leave_everyone_medium_and_no_purchase_no_band() -> None:
    few = SpendBands(None, None, 2)
    assert few.band(Decimal(5)) == "medium"
    assert few.band(None) is None
    assert SpendBands.parse(few.counts()) == few
    bands = SpendBands(Decimal("200.5"), Decimal(400), 9)
    assert SpendBands.parse(bands.counts()) == bands


def test_the_median_is_exact() -> None:
    assert _twice_median([1, 3, 10]) == 6
    assert _twice_median([1, 4]) == 5
    assert usual_spend([Decimal("100.00"), Decimal("250.00")]) == Decimal("175.00")
    assert usual_spend([]) is None


def test_reminders_are_told_apart_by_date_and_year_and_stay_within_an_event_id() -> None:
    assert discriminator("M-1", "DATE-1", 2026) == "DATE-1:2026"
    assert discriminator("M-1", "DATE-1", 2026) != discriminator("M-1", "DATE-1", 2027)
    long_member, long_date = "M" * 64, "D" * 128
    short = discriminator(long_member, long_date, 2026)
    assert short != discriminator(long_member, "D" * 127 + "E", 2026)
    assert len(f"sweep:{EVENT}:{long_member}:{short}") <= KEY_LENGTH + len("sweep:")
