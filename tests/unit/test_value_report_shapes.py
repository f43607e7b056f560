"""The value reports' arithmetic without a database: months in UTC, the top fifth rounded up,
shares of revenue, and a month's moves shaped from grouped snapshot rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, NamedTuple

from loyalty.services.sweep.snapshots import month_before, month_of
from loyalty.services.value_reports import _movement, first_month, share, top_fifth_count

CHINA = timezone(timedelta(hours=8))


class Grouped(NamedTuple):
    month: date
    had_row_before: bool
    previous: str | None
    current: str | None
    members: int


def test_a_month_is_the_utc_month_of_the_instant() -> None:
    # 1 December 06:00 in China is still 30 November in UTC
    assert month_of(datetime(2026, 12, 1, 6, tzinfo=CHINA)) == date(2026, 11, 1)
    assert month_of(datetime(2026, 12, 1, 9, tzinfo=CHINA)) == date(2026, 12, 1)
    assert month_before(date(2026, 1, 1)) == date(2025, 12, 1)
    assert month_before(date(2026, 3, 1)) == date(2026, 2, 1)


def test_the_months_asked_for_end_with_the_month_of_the_instant() -> None:
    at = datetime(2026, 2, 15, tzinfo=UTC)
    assert first_month(at, 1) == date(2026, 2, 1)
    assert first_month(at, 2) == date(2026, 1, 1)
    assert first_month(at, 12) == date(2025, 3, 1)
    assert first_month(at, 36) == date(2023, 3, 1)


def test_the_top_fifth_is_a_fifth_of_the_members_rounded_up() -> None:
    assert [top_fifth_count(n) for n in (0, 1, 5, 6, 10, 11, 1_000_000)] == \
        [0, 1, 1, 2, 2, 3, 200_000]


def test_a_share_is_rounded_to_four_places_and_absent_without_revenue() -> None:
    assert share(77, 90) == 0.8556
    assert share(0, 90) == 0.0
    assert share(5, 0) is None
    assert share(5, -10) is None


def test_moves_are_counted_per_month_with_staying_put_and_members_new_that_month() -> None:
    sep, oct_ = date(2026, 9, 1), date(2026, 10, 1)
    rows = [
        Grouped(sep, False, None, "keep", 2),
        Grouped(sep, False, None, None, 1),
        Grouped(oct_, True, "keep", "keep", 1),
        Grouped(oct_, True, "keep", "maintain", 1),
        Grouped(oct_, True, None, "grow", 1),
        Grouped(oct_, False, None, "grow", 3),
    ]

    def counts(here: dict[str | None, int]) -> dict[str, Any]:
        return {"counts": {k: v for k, v in here.items() if k is not None},
                "unvalued": here.get(None, 0)}

    september, october = _movement(rows, counts, "moves")
    assert september == {"month": "2026-09", "counts": {"keep": 2}, "unvalued": 1,
                         "joined": 3, "moves": []}
    assert october["counts"] == {"keep": 1, "maintain": 1, "grow": 4}
    assert october["joined"] == 3
    assert october["moves"] == [  # most members first
        {"from": "keep", "to": "keep", "members": 1},
        {"from": "keep", "to": "maintain", "members": 1},
        {"from": None, "to": "grow", "members": 1},
    ]
