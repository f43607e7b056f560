"""Which rules version is in force at an instant: the last to take effect by then, a
cancelled one never, the first one from the beginning of time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from loyalty.services.versions import Order

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def row(version: int, hours: float, cancelled: bool = False,
        scheduled_at: float | None = None) -> SimpleNamespace:
    """Version `version` in force from `hours` after T0: activated then, or scheduled at
    `scheduled_at` hours for that instant."""
    at = T0 + timedelta(hours=hours)
    activated = at if scheduled_at is None else T0 + timedelta(hours=scheduled_at)
    return SimpleNamespace(version=version, effective_at=at, activated_at=activated,
                           cancelled_at=T0 if cancelled else None)


def test_a_schedule_takes_over_exactly_at_its_instant() -> None:
    order = Order.of([row(1, 5), row(2, 10, scheduled_at=6)])
    assert order.in_force(T0 - timedelta(days=365)) == 1  # the first governs before it
    assert order.in_force(T0 + timedelta(hours=10) - timedelta(microseconds=1)) == 1
    assert order.in_force(T0 + timedelta(hours=10)) == 2
    assert order.upcoming(T0 + timedelta(hours=7)) == [(T0 + timedelta(hours=10), 2)]
    assert order.upcoming(T0 + timedelta(hours=10)) == []


def test_a_version_activated_now_is_in_force_as_soon_as_it_is_known() -> None:
    order = Order.of([row(1, 0), row(2, 10)])  # a process whose clock is behind: still 2
    assert order.in_force(T0 + timedelta(hours=9)) == 2


def test_a_schedule_takes_over_even_after_a_later_number() -> None:
    order = Order.of([row(1, 0), row(2, 48, scheduled_at=1), row(3, 2)])
    assert [order.in_force(T0 + timedelta(hours=h)) for h in (2, 47, 48)] == [3, 3, 2]
    assert order.upcoming(T0 + timedelta(hours=3)) == [(T0 + timedelta(hours=48), 2)]


def test_a_cancelled_version_never_takes_over_and_ties_go_to_the_newer_number() -> None:
    order = Order.of([row(1, 0), row(2, 5, cancelled=True, scheduled_at=1),
                      row(3, 6, scheduled_at=1), row(4, 6, scheduled_at=2)])
    assert order.in_force(T0 + timedelta(hours=5)) == 1
    assert order.in_force(T0 + timedelta(hours=6)) == 4
    assert order.started(2) is None and order.started(4) == T0 + timedelta(hours=6)


def test_no_versions_no_rules() -> None:
    assert Order.of([]).in_force(T0) is None
