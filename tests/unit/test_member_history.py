"""The member's history as rules see it, built from what was recorded: event counts over
windows, and the products held net of returns, as of an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loyalty.domain.history import EventHistory, HeldLine, Holding, event_history, holdings

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return T0 - timedelta(days=days)


def test_events_are_counted_over_each_window_up_to_the_instant_only() -> None:
    times = [days_ago(400), days_ago(200), days_ago(60), days_ago(29.5), T0,
             T0 + timedelta(seconds=1)]
    assert event_history(times, T0) == EventHistory(count_30d=2, count_90d=3, count_365d=4,
                                                    count_lifetime=5, days_since_last=0)
    assert event_history(times, days_ago(100)) == EventHistory(0, 0, 2, 2, 100)


def test_a_member_who_never_had_the_event_has_no_days_since_the_last() -> None:
    assert event_history([], T0) == EventHistory(0, 0, 0, 0, None)


def test_units_returned_by_the_instant_are_no_longer_held() -> None:
    lines = [HeldLine("P-1", "FRIDGE-500L", "fridge", days_ago(100), 2),
             HeldLine("P-1", "MUG-1", "homeware", days_ago(100), 1),
             HeldLine("P-1", "FRIDGE-500L", "fridge", days_ago(50), -1),
             HeldLine("P-1", "MUG-1", "homeware", days_ago(10), -1)]
    assert holdings(lines, days_ago(60)) == (
        Holding("FRIDGE-500L", "fridge", days_ago(100), 2),
        Holding("MUG-1", "homeware", days_ago(100), 1))
    assert holdings(lines, T0) == (Holding("FRIDGE-500L", "fridge", days_ago(100), 1),)


def test_a_product_held_from_several_purchases_is_dated_by_the_latest_still_held() -> None:
    lines = [HeldLine("P-1", "KETTLE-1", "small-kitchen", days_ago(300), 1),
             HeldLine("P-2", "KETTLE-1", "small-kitchen", days_ago(200), 1),
             HeldLine("P-3", "KETTLE-1", "small-kitchen", days_ago(100), 1),
             HeldLine("P-3", "KETTLE-1", "small-kitchen", days_ago(90), -1)]
    assert holdings(lines, T0) == (Holding("KETTLE-1", "small-kitchen", days_ago(200), 2),)
    assert holdings(lines, days_ago(250)) == (
        Holding("KETTLE-1", "small-kitchen", days_ago(300), 1),)
    assert holdings(lines, days_ago(301)) == ()
