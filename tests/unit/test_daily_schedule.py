"""A daily job runs at its time of day (UTC), every day, and a failed run does not stop the
next day's."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from loyalty.cli_schedule import next_run, parse_time_of_day, run_daily

TWO = time(2, 0, tzinfo=UTC)


class FakeClock:
    """Time that passes only when someone sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.naps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_the_next_run_is_today_before_the_time_and_tomorrow_from_it() -> None:
    assert next_run(datetime(2026, 5, 1, 1, 59, tzinfo=UTC), TWO) == datetime(
        2026, 5, 1, 2, 0, tzinfo=UTC)
    assert next_run(datetime(2026, 5, 1, 2, 0, tzinfo=UTC), TWO) == datetime(
        2026, 5, 2, 2, 0, tzinfo=UTC)
    shanghai = datetime(2026, 5, 2, 8, 30, tzinfo=timezone(timedelta(hours=8)))  # 00:30 UTC
    assert next_run(shanghai, TWO) == datetime(2026, 5, 2, 2, 0, tzinfo=UTC)


def test_a_job_runs_every_day_at_its_time_and_a_failure_does_not_stop_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(datetime(2026, 5, 1, 14, 0, tzinfo=UTC))
    ran: list[datetime] = []

    def job() -> None:
        ran.append(clock())
        if len(ran) == 2:
            raise RuntimeError("the database went away")

    run_daily(TWO, job, clock=clock, sleep=clock.sleep, runs=3)
    assert ran == [datetime(2026, 5, day, 2, 0, tzinfo=UTC) for day in (2, 3, 4)]
    assert max(clock.naps) <= 3600  # it looks at the clock at least every hour
    assert "the daily run of 2026-05-03 failed" in caplog.text
    assert "RuntimeError: the database went away" in caplog.text


@pytest.mark.parametrize("text", ["2", "2:0", "25:00", "02:60", "two", "02:00:00"])
def test_a_time_of_day_must_be_hours_and_minutes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time_of_day(text)
    assert parse_time_of_day("02:00") == TWO
