"""A demo programme from a pack: checked, planned from the seed, then played on the service."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from loyalty import engine as rule_engine
from loyalty.demo.guard import DemoRefused, require_empty, require_pack_rules
from loyalty.demo.people import cast
from loyalty.demo.plan import Calendar, Step, plan
from loyalty.demo.profiles import profile_for
from loyalty.demo.runner import Progress, Runner, sweep_instants
from loyalty.demo.shop import open_shop
from loyalty.demo.yardstick import yardstick
from loyalty.domain.policy import ProgramPolicy
from loyalty.packs import pack_dir
from loyalty.services.context import ServiceContext

#: Beyond a year, the days a demo runs past the programme's `lapsed_days`, so that members
#: lapse and come back before the end.
LAPSE_ROOM_DAYS = 120


@dataclass(frozen=True)
class Demo:
    """A planned demo, ready to run."""

    pack: str
    members: int
    seed: int
    calendar: Calendar
    steps: list[Step]
    runner: Runner
    activated: bool

    @property
    def work(self) -> int:
        """How many steps and sweeps the run takes (for a progress bar)."""
        return len(self.steps) + len(sweep_instants(self.calendar))

    def run(self, progress: Progress | None = None) -> Counter[str]:
        return self.runner.run(self.steps, progress)


def span_days(policy: ProgramPolicy) -> int:
    """A year, or longer when members only count as lapsed after most of a year."""
    return max(365, policy.lifecycle.lapsed_days + LAPSE_ROOM_DAYS)


def demo_start(policy: ProgramPolicy, start: date | None, today: date) -> datetime:
    """00:00 UTC of the first day: `start`, or so that the demo ends today; refused
    (DemoRefused) when it would end after today."""
    days = span_days(policy)
    first = start or today - timedelta(days=days)
    last = first + timedelta(days=days)
    if last > today:
        raise DemoRefused(f"a demo of this programme runs {days} days and would end on {last}, "
                          f"after today: start on {today - timedelta(days=days)} or earlier")
    return datetime.combine(first, time.min, UTC)


def read_pack(pack: str) -> tuple[dict[str, str], ProgramPolicy]:
    """The pack's rule files and the programme they declare."""
    files = rule_engine.read_rule_dir(pack_dir(pack))
    return files, rule_engine.program_policy(files)


def prepare(ctx: ServiceContext, pack: str, files: dict[str, str], policy: ProgramPolicy, *,
            first: datetime, members: int, seed: int, where: str) -> Demo:
    """Check the database (no members; the pack's rules, activated when it has none) and plan
    the demo from `first` (see `demo_start`); DemoRefused, with nothing written, when the
    database cannot take it."""
    require_empty(ctx, where)
    activated = require_pack_rules(ctx, pack, files, first)
    calendar = Calendar(first, first + timedelta(days=span_days(policy)),
                        lapsed_days=policy.lifecycle.lapsed_days,
                        return_days=max(2, min(policy.points.pending_days or 7, 30)))
    shop, profile, yard = open_shop(policy, files), profile_for(pack), yardstick(policy)
    people = cast(members, seed, calendar.start, calendar.span,
                  earliest_stop=calendar.lapsed_days + 40, shop=shop, yard=yard,
                  channels=shop.channels)
    steps = plan(people, shop, profile, yard, calendar, seed)
    runner = Runner(ctx, policy, shop, profile, calendar, seed)
    return Demo(pack, members, seed, calendar, steps, runner, activated)
