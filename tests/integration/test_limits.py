"""Rule limits and budgets through the real till path, at and across every boundary.

Each test activates the bundled rules plus one small rule set of its own and records real
purchases and events; what a limited rule gave is read from the receipts and the ledger, so
the product's limit code decides every case (on SQLite, or PostgreSQL in CI).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from loyalty.domain.commands import RecordEvent
from loyalty.domain.decisions import AwardPoints, Decision
from loyalty.domain.model import Occurrence
from loyalty.services import events
from loyalty.services.context import ServiceContext
from loyalty.services.limits import MAX_AWARD, capped_points
from loyalty.store import tables as t
from tests.integration.helpers import (
    CHINA,
    SPRING_OFFER,
    enrol,
    fingerprint,
    limited_rule,
    purchase,
    spring_campaign,
    use_rules,
)

KETTLE = ("KETTLE-1", "small-kitchen", 1, "100.00")
NEW_YEAR = datetime(2027, 1, 1, tzinfo=CHINA)


@pytest.fixture
def member(ctx: ServiceContext) -> str:
    ctx.clock = lambda: NEW_YEAR + timedelta(days=400)
    return str(enrol(ctx)["member_id"])


class Till:
    """Records purchases at given instants, numbering them, and reads what a rule gave."""

    def __init__(self, ctx: ServiceContext, member_id: str = "M-1001") -> None:
        self.ctx = ctx
        self.member_id = member_id
        self.count = 0

    def buy(self, at: datetime, **extra: Any) -> dict[str, Any]:
        self.count += 1
        self.ctx.clock = lambda: at
        tx_id = f"S-{self.member_id}-{self.count}"
        body: dict[str, Any] = purchase(self.ctx, tx_id, [KETTLE], member_id=self.member_id,
                                        at=at, **extra).body
        return body

    def fired(self, rule_id: str, at: datetime, **extra: Any) -> int:
        """Points the rule gave on a purchase at `at`, or -1 when it did not apply."""
        decisions = [d for d in self.buy(at, **extra)["decisions"] if d["rule_id"] == rule_id]
        return sum(d.get("points") or 0 for d in decisions) if decisions else -1


def used(ctx: ServiceContext) -> dict[str, int]:
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(select(t.rule_budgets)).all()
    return {row.rule_id: int(row.points_used) for row in rows}


def uses(ctx: ServiceContext, rule_id: str) -> dict[str, int]:
    """How often the rule applied to anyone, per period."""
    return {key: times for key, (times, _) in usage(ctx, rule_id).items()}


def usage(ctx: ServiceContext, rule_id: str) -> dict[str, tuple[int, int]]:
    """Times applied and points given by the rule, per period."""
    u = t.rule_usage.c
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(select(u.period_key, u.times, u.points)
                                      .where(u.rule_id == rule_id)).all()
    return {row.period_key: (int(row.times), int(row.points)) for row in rows}


def with_notice(rule: str) -> str:
    """The rule with a message as a second effect: a decision of the rule that gives no points."""
    return rule.replace("    limit:", "      - notify: {notification: thanks, message: Thanks}\n"
                                     "    limit:")


# times per period


def test_once_ever_applies_the_first_time_and_never_again(ctx: ServiceContext,
                                                          member: str) -> None:
    use_rules(ctx, once=limited_rule("once-ever", "{times: 1, per: ever}"))
    till = Till(ctx)
    assert till.fired("once-ever", NEW_YEAR) == 10
    assert till.fired("once-ever", NEW_YEAR + timedelta(minutes=1)) == -1
    assert till.fired("once-ever", NEW_YEAR + timedelta(days=800)) == -1
    assert uses(ctx, "once-ever") == {"ever": 1}


@pytest.mark.parametrize("times", [1, 2, 3])
def test_times_per_day_stop_at_the_limit_and_start_again_the_next_day(
    ctx: ServiceContext, member: str, times: int
) -> None:
    use_rules(ctx, daily=limited_rule("daily", f"{{times: {times}, per: day}}"))
    till = Till(ctx)
    morning = datetime(2027, 3, 10, 0, 0, tzinfo=CHINA)
    gave = [till.fired("daily", morning + timedelta(hours=hour)) for hour in range(times + 1)]
    assert gave == [10] * times + [-1]
    last_minute = datetime(2027, 3, 10, 23, 59, 59, tzinfo=CHINA)
    assert till.fired("daily", last_minute) == -1
    assert till.fired("daily", last_minute + timedelta(seconds=1)) == 10  # a new local day
    assert uses(ctx, "daily") == {"2027-03-10": times, "2027-03-11": 1}


def test_the_day_of_a_limit_is_the_purchase_s_own_local_day(ctx: ServiceContext,
                                                             member: str) -> None:
    use_rules(ctx, daily=limited_rule("daily", "{times: 1, per: day}"))
    till = Till(ctx)
    # 01:00 in Shanghai is still the previous day in UTC: the member's day is what counts.
    assert till.fired("daily", datetime(2027, 3, 10, 23, 0, tzinfo=CHINA)) == 10
    assert till.fired("daily", datetime(2027, 3, 11, 1, 0, tzinfo=CHINA)) == 10


def test_once_a_month_counts_calendar_months(ctx: ServiceContext, member: str) -> None:
    use_rules(ctx, monthly=limited_rule("monthly", "{times: 1, per: month}"))
    till = Till(ctx)
    assert till.fired("monthly", datetime(2027, 1, 1, 0, 0, tzinfo=CHINA)) == 10
    assert till.fired("monthly", datetime(2027, 1, 31, 23, 59, tzinfo=CHINA)) == -1
    assert till.fired("monthly", datetime(2027, 2, 1, 0, 0, tzinfo=CHINA)) == 10
    assert till.fired("monthly", datetime(2027, 2, 15, tzinfo=CHINA)) == -1
    assert till.fired("monthly", datetime(2028, 1, 5, tzinfo=CHINA)) == 10  # same month, new year
    assert uses(ctx, "monthly") == {"2027-01": 1, "2027-02": 1, "2028-01": 1}


@pytest.mark.parametrize("times", [1, 2])
def test_times_a_year_count_the_whole_calendar_year(ctx: ServiceContext, member: str,
                                                    times: int) -> None:
    use_rules(ctx, yearly=limited_rule("yearly", f"{{times: {times}, per: year}}"))
    till = Till(ctx)
    days = [datetime(2027, 1, 1, tzinfo=CHINA) + timedelta(days=40 * n) for n in range(times)]
    assert [till.fired("yearly", day) for day in days] == [10] * times
    assert till.fired("yearly", datetime(2027, 6, 30, tzinfo=CHINA)) == -1
    assert till.fired("yearly", datetime(2027, 12, 31, 23, 59, tzinfo=CHINA)) == -1
    assert till.fired("yearly", datetime(2028, 1, 1, 0, 0, tzinfo=CHINA)) == 10
    assert uses(ctx, "yearly") == {"2027": times, "2028": 1}


def test_a_limit_counts_each_member_apart(ctx: ServiceContext, member: str) -> None:
    use_rules(ctx, once=limited_rule("once-ever", "{times: 1, per: ever}"))
    enrol(ctx, "M-2002")
    ann, bob = Till(ctx), Till(ctx, "M-2002")
    assert ann.fired("once-ever", NEW_YEAR) == 10
    assert bob.fired("once-ever", NEW_YEAR) == 10
    assert ann.fired("once-ever", NEW_YEAR + timedelta(hours=1)) == -1


def test_a_dry_run_uses_up_no_limit(ctx: ServiceContext, member: str) -> None:
    use_rules(ctx, once=limited_rule("once-ever", "{times: 1, per: ever}"))
    till = Till(ctx)
    assert till.fired("once-ever", NEW_YEAR, dry_run=True) == 10
    assert till.fired("once-ever", NEW_YEAR, dry_run=True) == 10
    assert uses(ctx, "once-ever") == {}
    assert till.fired("once-ever", NEW_YEAR) == 10
    assert till.fired("once-ever", NEW_YEAR, dry_run=True) == -1


def test_a_replayed_purchase_uses_no_limit_twice(ctx: ServiceContext, member: str) -> None:
    use_rules(ctx, twice=limited_rule("twice", "{times: 2, per: ever}"))
    ctx.clock = lambda: NEW_YEAR
    first = purchase(ctx, "S-1", [KETTLE], at=NEW_YEAR)
    again = purchase(ctx, "S-1", [KETTLE], at=NEW_YEAR)
    assert again.replayed and again.body == first.body
    assert uses(ctx, "twice") == {"ever": 1}
    assert Till(ctx).fired("twice", NEW_YEAR + timedelta(minutes=1)) == 10


def test_a_limit_on_an_event_rule_counts_events(ctx: ServiceContext, member: str) -> None:
    use_rules(ctx, survey=limited_rule("survey-points", "{times: 1, per: month}", points=25,
                                       on="survey"))

    def answer(event_id: str, at: datetime) -> int:
        ctx.clock = lambda: at
        body = events.record_event(ctx, RecordEvent(
            event_id=event_id, type="survey", member_id=member, occurred_at=at,
            fingerprint=fingerprint(e=event_id))).body
        gave = [d["points"] for d in body["decisions"] if d["rule_id"] == "survey-points"]
        return int(gave[0]) if gave else -1

    assert answer("E-1", datetime(2027, 4, 2, tzinfo=CHINA)) == 25
    assert answer("E-2", datetime(2027, 4, 30, tzinfo=CHINA)) == -1
    assert answer("E-3", datetime(2027, 5, 1, tzinfo=CHINA)) == 25


def test_usage_records_the_points_the_rule_gave_in_each_period(ctx: ServiceContext,
                                                                member: str) -> None:
    use_rules(ctx, daily=with_notice(limited_rule("daily", "{times: 3, per: day}", points=10)))
    till = Till(ctx)
    day = datetime(2027, 3, 10, 9, tzinfo=CHINA)
    assert till.fired("daily", day) == 10
    assert till.fired("daily", day + timedelta(hours=1)) == 10
    assert usage(ctx, "daily") == {"2027-03-10": (2, 20)}  # not the base earn's points


# budgets in points


@pytest.mark.parametrize(("budget", "awards"), [
    (299, [100, 100, -1, -1]),   # one under three awards: the third would pass it
    (300, [100, 100, 100, -1]),  # exactly three awards: the third reaches it and still applies
    (301, [100, 100, 100, -1]),  # one over: the fourth would pass it
])
def test_a_rule_budget_gives_while_the_award_fits_and_then_stops(
    ctx: ServiceContext, member: str, budget: int, awards: list[int]
) -> None:
    use_rules(ctx, budgeted=limited_rule("budgeted", f"{{budget_points: {budget}}}", points=100))
    till = Till(ctx)
    gave = [till.fired("budgeted", NEW_YEAR + timedelta(minutes=n)) for n in range(4)]
    assert gave == awards
    assert used(ctx) == {"budgeted": 100 * awards.count(100)}


def test_a_budget_counts_every_member_together(ctx: ServiceContext, member: str) -> None:
    use_rules(ctx, budgeted=limited_rule("budgeted", "{budget_points: 200}", points=100))
    enrol(ctx, "M-2002")
    enrol(ctx, "M-3003")
    gave = [Till(ctx, who).fired("budgeted", NEW_YEAR)
            for who in ("M-1001", "M-2002", "M-3003")]
    assert gave == [100, 100, -1]


def test_a_budget_counts_only_points_not_the_rule_s_other_effects(ctx: ServiceContext,
                                                                   member: str) -> None:
    rule = with_notice(limited_rule("budgeted", "{budget_points: 100}", points=100))
    use_rules(ctx, budgeted=rule)
    till = Till(ctx)
    assert till.fired("budgeted", NEW_YEAR) == 100  # exactly the budget, the message is free
    assert till.fired("budgeted", NEW_YEAR + timedelta(minutes=1)) == -1
    assert used(ctx) == {"budgeted": 100}


TWO_BUDGETS = """
ruleset: two-budgets
description: Two rules of one campaign that state different budgets.
on: [purchase]
rules:
  - id: first-stated
    description: 100 points
    priority: 40
    campaign: autumn
    then:
      - award_points: {points: 100}
    limit: {budget_points: FIRST}
  - id: second-stated
    description: 100 points
    priority: 41
    campaign: autumn
    then:
      - award_points: {points: 100}
    limit: {budget_points: SECOND}
"""


@pytest.mark.parametrize(("first", "second"), [(200, 400), (400, 200)])
def test_a_campaign_whose_rules_state_different_budgets_keeps_the_smallest(
    ctx: ServiceContext, member: str, first: int, second: int
) -> None:
    use_rules(ctx, two=TWO_BUDGETS.replace("FIRST", str(first)).replace("SECOND", str(second)))
    till = Till(ctx)
    assert till.fired("first-stated", NEW_YEAR) == 100
    assert till.fired("first-stated", NEW_YEAR + timedelta(minutes=1)) == -1  # 400 > 200
    assert used(ctx) == {"campaign:autumn": 200}


def test_a_runaway_award_is_capped_and_logged_with_its_rule(
    ctx: ServiceContext, member: str, caplog: pytest.LogCaptureFixture
) -> None:
    use_rules(ctx, runaway=limited_rule("runaway", "{times: 1, per: day}", points=1)
              .replace("award_points: {points: 1}", "award_points: {per_currency_unit: 1000}"))
    till = Till(ctx)
    # Past what the till accepts (the edge caps a purchase at 1,000,000,000): a runaway rate
    # reaches the cap only when a caller skips the edge, and the cap still holds it.
    big = ("TV-1", "electronics", 1000, "10000000000")
    with caplog.at_level("WARNING", logger="loyalty.services.limits"):
        body = purchase(ctx, "S-BIG", [big], at=NEW_YEAR).body
    assert [d["points"] for d in body["decisions"] if d["rule_id"] == "runaway"] == [MAX_AWARD]
    assert [r.getMessage() for r in caplog.records if r.name == "loyalty.services.limits"] == [
        f"rule runaway would award {10**16} points for S-BIG; capped at {MAX_AWARD}"]
    assert till.fired("runaway", NEW_YEAR + timedelta(minutes=1)) == -1


def test_a_budget_and_times_together_stop_at_whichever_comes_first(
    ctx: ServiceContext, member: str
) -> None:
    use_rules(ctx, both=limited_rule("both", "{times: 2, per: day, budget_points: 250}",
                                     points=100))
    till = Till(ctx)
    day = datetime(2027, 3, 10, 9, tzinfo=CHINA)
    assert [till.fired("both", day + timedelta(hours=h)) for h in range(3)] == [100, 100, -1]
    assert till.fired("both", day + timedelta(days=1)) == -1  # times allow it, the budget not
    assert used(ctx) == {"both": 200}
    assert uses(ctx, "both") == {"2027-03-10": 2}


def test_a_stopped_rule_leaves_the_rest_of_the_purchase_whole(ctx: ServiceContext,
                                                              member: str) -> None:
    use_rules(ctx, budgeted=limited_rule("budgeted", "{budget_points: 100}", points=100))
    till = Till(ctx)
    first = till.buy(NEW_YEAR)
    second = till.buy(NEW_YEAR + timedelta(minutes=1))
    assert first["points"]["earned"] == second["points"]["earned"] + 100
    assert [d["rule_id"] for d in first["decisions"] if d["rule_id"] != "budgeted"] == [
        d["rule_id"] for d in second["decisions"]]


def campaign(ctx: ServiceContext, budget: int) -> None:
    use_rules(ctx, spring=spring_campaign(budget), spring_survey=SPRING_OFFER)


def spring_points(body: dict[str, Any]) -> int:
    return sum(d["points"] for d in body["decisions"] if d["rule_id"] in {"spring-a", "spring-b"})


@pytest.mark.parametrize(("budget", "given"), [
    (299, [150, 0]),   # the second purchase's 150 would pass 299
    (300, [150, 150]),
    (301, [150, 150]),
])
def test_a_campaign_budget_is_shared_by_its_rules(ctx: ServiceContext, member: str,
                                                  budget: int, given: list[int]) -> None:
    campaign(ctx, budget)
    till = Till(ctx)
    assert [spring_points(till.buy(NEW_YEAR + timedelta(minutes=n))) for n in range(2)] == given
    assert used(ctx) == {"campaign:spring": sum(given)}


def test_offer_points_spend_the_campaign_budget_and_stop_its_rules(ctx: ServiceContext,
                                                                   member: str) -> None:
    campaign(ctx, 400)
    ctx.clock = lambda: NEW_YEAR
    events.record_event(ctx, RecordEvent(event_id="E-1", type="survey", member_id=member,
                                         occurred_at=NEW_YEAR, fingerprint=fingerprint(e=1)))
    till = Till(ctx)
    first = till.buy(NEW_YEAR + timedelta(minutes=1), offer_codes=("SPRING-200",))
    assert spring_points(first) == 150
    assert [(o["offer_code"], o["points"]) for o in first["offers"]] == [("SPRING-200", 200)]
    assert used(ctx) == {"campaign:spring": 350}  # the rules' 150 and the offer's 200
    second = till.buy(NEW_YEAR + timedelta(minutes=2))
    assert spring_points(second) == 0  # 150 more would pass 400
    assert used(ctx) == {"campaign:spring": 350}


def test_concurrent_purchases_never_spend_a_budget_twice(ctx: ServiceContext) -> None:
    ctx.clock = lambda: NEW_YEAR
    use_rules(ctx, budgeted=limited_rule("budgeted", "{budget_points: 500}", points=100))
    people = [f"M-{n:04d}" for n in range(12)]
    for who in people:
        enrol(ctx, who)
    gave: list[int] = []
    barrier = threading.Barrier(len(people))

    def buy(who: str) -> None:
        barrier.wait()
        body = purchase(ctx, f"S-{who}", [KETTLE], member_id=who, at=NEW_YEAR).body
        gave.extend(d["points"] for d in body["decisions"] if d["rule_id"] == "budgeted")

    threads = [threading.Thread(target=buy, args=(who,)) for who in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(gave) == [100] * 5
    assert used(ctx) == {"budgeted": 500}


def test_an_award_of_exactly_the_cap_is_given_whole_and_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    decision = Decision(rule_id="big", ruleset="r", ruleset_version="1",
                        effect=AwardPoints(rate=Decimal(1000)), reason="", priority=1, order=0)
    occurrence = Occurrence(kind="purchase", source_id="S-1", occurred_at=NEW_YEAR,
                            total=Decimal(MAX_AWARD // 1000))
    with caplog.at_level("WARNING", logger="loyalty.services.limits"):
        assert capped_points([decision], occurrence) == {0: MAX_AWARD}
    assert caplog.records == []
