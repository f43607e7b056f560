"""A job run every day at a fixed time (UTC), for where no scheduler runs it: the daily sweep in
a container (`loyalty sweep --as-of today --every-day-at 02:00`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

log = logging.getLogger(__name__)


def parse_time_of_day(text: str) -> time:
    """`HH:MM` (24 hours, UTC); ValueError otherwise."""
    hours, sep, minutes = text.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r} is not a time of day as HH:MM, e.g. 02:00")
    return time(int(hours), int(minutes), tzinfo=UTC)


def next_run(now: datetime, at: time) -> datetime:
    """The first instant at `at` (UTC) after `now`."""
    today = datetime.combine(now.astimezone(UTC).date(), at.replace(tzinfo=None), UTC)
    return today if today > now else today + timedelta(days=1)


def run_daily(at: time, job: Callable[[], None], *, clock: Callable[[], datetime],
              sleep: Callable[[float], None], runs: int | None = None) -> None:
    """Run `job` every day at `at`, for ever (`runs`: that many times). A run that fails is
    logged with its error and the next day's goes ahead: the sweep resumes where it stopped."""
    done = 0
    while runs is None or done < runs:
        due = next_run(clock(), at)
        log.info("next daily run at %s", due.isoformat())
        while (wait := (due - clock()).total_seconds()) > 0:
            sleep(min(wait, 3600.0))  # in steps: a clock set forward is noticed within the hour
        try:
            job()
        except Exception:
            log.exception("the daily run of %s failed; the next one is tomorrow", due.date())
        done += 1
