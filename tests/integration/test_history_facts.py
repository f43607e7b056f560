"""Rules testing what the member did before: how often each type of event happened and how
long ago (`events.<type>.*`), and the products they hold and which are under warranty
(`products.*`), at the till on the database, and replayed (backtests, explain) exactly as the
till saw them. Only the history the rules test is read."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import event, select

from loyalty.domain.commands import EnrolMember, RecordEvent
from loyalty.engine import read_rule_dir
from loyalty.services import events, members
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.explain import explain_recorded
from loyalty.services.replay import MemoryState, replay
from loyalty.store import member_history
from loyalty.store import tables as t
from loyalty.store.history import HistoryReader
from tests.conftest import RULES_DIR
from tests.integration.helpers import fingerprint, give_back, purchase, use_rules

CHINA = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 14, 3, tzinfo=CHINA)
JOINED = datetime(2024, 1, 2, 9, 0, tzinfo=CHINA)
EARLY = datetime(2020, 1, 1, tzinfo=UTC)
HISTORY_RULES = """
ruleset: history
description: Rules on what the member did before.
on: [service, complaint, purchase]
rules:
  - id: regular-service
    description: 100 points for a service visit when there were two more within a year
    priority: 60
    when:
      - {fact: event.type, is: service}
      - {fact: events.service.count_365d, at_least: 2}
    then:
      - award_points: {points: 100}
  - id: first-complaint
    description: A call from the manager after a first complaint
    priority: 60
    when:
      - {fact: event.type, is: complaint}
      - none: [{fact: events.complaint.days_since_last, exists: true}]
    then:
      - notify: {notification: manager-call, message: We will call you}
  - id: complaint-again
    description: 300 points when a complaint follows another within 30 days
    priority: 60
    when:
      - {fact: event.type, is: complaint}
      - {fact: events.complaint.days_since_last, below: 30}
    then:
      - award_points: {points: 300}
  - id: fridge-in-warranty
    description: 50 points for a service visit while a refrigerator is under warranty
    priority: 60
    when:
      - {fact: event.type, is: service}
      - {fact: products.in_warranty, contains: fridge}
    then:
      - award_points: {points: 50}
  - id: fridge-owner
    description: 10 points on every purchase of a member who owns a refrigerator
    priority: 60
    when:
      - {fact: event.type, is: purchase}
      - {fact: products.owned, contains: fridge}
    then:
      - award_points: {points: 10}
  - id: few-returns
    description: 5 points on a purchase with no return in the last 90 days
    priority: 60
    when:
      - {fact: event.type, is: purchase}
      - {fact: events.return.count_90d, is: 0}
    then:
      - award_points: {points: 5}
"""
FRIDGE = ("FRIDGE-500L", "fridge", 1, "5999")
KETTLE = ("KETTLE-1", "small-kitchen", 1, "199")


def join(ctx: ServiceContext, member_id: str = "M-1") -> None:
    members.enrol(ctx, EnrolMember(member_id=member_id, name="Ann", enrolled_at=JOINED,
                                   email=f"{member_id.lower()}@example.com"))


def happen(ctx: ServiceContext, event_id: str, kind: str, at: datetime,
           member_id: str = "M-1") -> set[str]:
    """Record an event at the till; the rules of the history ruleset that applied."""
    body = events.record_event(ctx, RecordEvent(
        event_id=event_id, type=kind, member_id=member_id, occurred_at=at,
        fingerprint=fingerprint(event=event_id, kind=kind, at=at.isoformat()))).body
    return fired(body)


def fired(body: dict[str, Any]) -> set[str]:
    rules = {decision["rule_id"] for decision in body["decisions"]}
    return rules & {"regular-service", "first-complaint", "complaint-again",
                    "fridge-in-warranty", "fridge-owner", "few-returns"}


def buy(ctx: ServiceContext, tx_id: str, lines: list[tuple[str, str, int, str]],
        at: datetime, member_id: str = "M-1") -> set[str]:
    return fired(purchase(ctx, tx_id, lines, member_id=member_id, at=at).body)


def test_a_service_visit_counts_the_visits_of_the_year_before_it(ctx: ServiceContext) -> None:
    use_rules(ctx, history=HISTORY_RULES)
    join(ctx)
    assert happen(ctx, "S-1", "service", T0 - timedelta(days=390)) == set()
    assert happen(ctx, "S-2", "service", T0 - timedelta(days=200)) == set()
    # the year before S-3 holds S-2 only: S-1 is 390 days before
    assert happen(ctx, "S-3", "service", T0 - timedelta(days=10)) == set()
    assert happen(ctx, "S-4", "service", T0) == {"regular-service"}
    with ctx.uow(read_only=True) as uow:
        history = member_history.event_history(uow.connection, "M-1", T0, {"service"})
    assert history["service"].count_365d == 3 and history["service"].count_lifetime == 4
    assert history["service"].days_since_last == 0


def test_a_complaint_knows_how_long_ago_the_last_one_was(ctx: ServiceContext) -> None:
    use_rules(ctx, history=HISTORY_RULES)
    join(ctx)
    assert happen(ctx, "C-1", "complaint", T0 - timedelta(days=60)) == {"first-complaint"}
    assert happen(ctx, "C-2", "complaint", T0 - timedelta(days=50)) == {"complaint-again"}
    assert happen(ctx, "C-3", "complaint", T0) == set()  # 50 days after C-2


def test_a_fridge_is_under_warranty_until_the_day_before_the_same_date_two_years_on(
        ctx: ServiceContext) -> None:
    use_rules(ctx, history=HISTORY_RULES)
    join(ctx)
    bought = datetime(2024, 5, 2, 10, 0, tzinfo=CHINA)
    assert buy(ctx, "P-1", [FRIDGE, KETTLE], bought) == {"few-returns"}
    last_day = datetime(2026, 5, 1, 23, 30, tzinfo=CHINA)
    assert happen(ctx, "S-1", "service", last_day) == {"fridge-in-warranty"}
    assert happen(ctx, "S-2", "service", last_day + timedelta(hours=1)) == set()
    assert buy(ctx, "P-2", [KETTLE], last_day + timedelta(days=1)) == {"fridge-owner",
                                                                        "few-returns"}


def test_a_returned_fridge_is_neither_owned_nor_under_warranty(ctx: ServiceContext) -> None:
    use_rules(ctx, history=HISTORY_RULES)
    join(ctx)
    two = ("FRIDGE-500L", "fridge", 2, "5999")
    assert buy(ctx, "P-1", [two], T0 - timedelta(days=30)) == {"few-returns"}
    give_back(ctx, "R-1", "P-1", [("FRIDGE-500L", 1)], member_id="M-1",
              at=T0 - timedelta(days=20))
    assert happen(ctx, "S-1", "service", T0 - timedelta(days=19)) == {"fridge-in-warranty"}
    assert buy(ctx, "P-2", [KETTLE], T0 - timedelta(days=18)) == {"fridge-owner"}
    give_back(ctx, "R-2", "P-1", [("FRIDGE-500L", 1)], member_id="M-1",
              at=T0 - timedelta(days=10))
    assert happen(ctx, "S-2", "service", T0 - timedelta(days=9)) == set()
    # a visit sent late, from before the second return: the member held a fridge then
    assert happen(ctx, "S-0", "service", T0 - timedelta(days=15)) == {"fridge-in-warranty"}
    assert buy(ctx, "P-3", [KETTLE], T0) == set()  # two returns in 90 days, no fridge left
    with ctx.uow(read_only=True) as uow:
        held = member_history.member_holdings(uow.connection, "M-1", T0)
    (kettles,) = held  # two kettles, the latest bought with P-3
    assert (kettles.sku, kettles.category, kettles.quantity) == ("KETTLE-1", "small-kitchen", 2)
    assert kettles.bought_at == T0


@contextmanager
def statements(ctx: ServiceContext) -> Iterator[list[str]]:
    """The SQL statements run while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(ctx.engine, "before_cursor_execute", record)


def reads_history(seen: list[str]) -> bool:
    return any("FROM events" in text or "JOIN transaction_lines" in text for text in seen)


def test_the_till_reads_only_the_history_the_rules_for_the_event_test(
        ctx: ServiceContext) -> None:
    use_rules(ctx)  # the retail pack alone tests no history
    join(ctx)
    with statements(ctx) as seen:
        buy(ctx, "P-1", [FRIDGE], T0 - timedelta(days=5))
        happen(ctx, "S-1", "service", T0 - timedelta(days=4))
    assert not reads_history(seen)
    use_rules(ctx, history=HISTORY_RULES.replace("[service, complaint, purchase]", "[service]")
              .split("  - id: first-complaint")[0])
    with statements(ctx) as seen:
        buy(ctx, "P-2", [KETTLE], T0 - timedelta(days=3))
    assert not reads_history(seen)  # no rule reacting to purchases tests the history
    with statements(ctx) as seen:
        happen(ctx, "S-2", "service", T0 - timedelta(days=2))
    assert reads_history(seen)


def _history(ctx: ServiceContext, rng: random.Random) -> datetime:
    """Three members over two years: purchases of fridges and kettles, returns of some, service
    visits and complaints, in time order; the last instant."""
    at = JOINED + timedelta(days=1)
    bought: dict[str, list[tuple[str, str]]] = {}
    for member_id in ("M-1", "M-2", "M-3"):
        join(ctx, member_id)
    for n in range(150):
        at += timedelta(hours=rng.choice([2, 20, 70, 200]))
        member_id = rng.choice(("M-1", "M-2", "M-3"))
        roll = rng.random()
        if roll < 0.4:
            lines = rng.sample([FRIDGE, KETTLE, ("TV-55", "tv", 1, "3999")], rng.choice([1, 2]))
            buy(ctx, f"P-{n}", lines, at, member_id)
            bought.setdefault(member_id, []).append((f"P-{n}", lines[0][0]))
        elif roll < 0.5 and bought.get(member_id):
            original, sku = bought[member_id].pop(rng.randrange(len(bought[member_id])))
            give_back(ctx, f"R-{n}", original, [(sku, 1)], member_id=member_id, at=at)
        else:
            happen(ctx, f"E-{n}", rng.choice(["service", "complaint", "survey"]), at, member_id)
    return at


def test_replays_see_the_history_the_till_saw_and_reproduce_its_decisions(
        ctx: ServiceContext) -> None:
    use_rules(ctx, history=HISTORY_RULES)
    end = _history(ctx, random.Random(7))
    book = ctx.rules.current()
    state = MemoryState()
    types = frozenset({"service", "complaint", "survey", "return", "enrolment"})
    compared = 0
    for step in replay(HistoryReader(ctx.engine), lambda _: book, state):
        assert step.refused is None
        holder = state.members[step.item.member_id].holder
        moment = step.item.occurred_at
        with ctx.uow(read_only=True) as uow:
            conn = uow.connection
            assert state.event_history(holder, moment, types) == member_history.event_history(
                conn, holder.member_id, moment, types), step.item.source_id
            assert state.holdings(holder, moment) == member_history.member_holdings(
                conn, holder.member_id, moment), step.item.source_id
        compared += 1
    assert compared == HistoryReader(ctx.engine).count() > 150
    files = {**read_rule_dir(RULES_DIR), "history.yaml": HISTORY_RULES}
    report = backtest(ctx, files, start=EARLY, end=end)
    assert report["replay_check"]["differences"] == 0, report["replay_check"]
    assert report["differing_decisions"] == 0
    rules = {row["rule_id"]: row["against_points"] for row in report["per_rule"]}
    for rule_id in ("regular-service", "complaint-again", "fridge-in-warranty", "fridge-owner",
                    "few-returns"):
        assert rules[rule_id] > 0, rule_id
    explained, _ = explain_recorded(ctx, rewarded_by(ctx, "regular-service"))
    assert "regular-service" in {d["rule_id"] for d in explained["decisions"]}


def rewarded_by(ctx: ServiceContext, rule_id: str) -> str:
    """The id of a recorded occurrence a rule gave points for."""
    e = t.ledger_entries.c
    with ctx.uow(read_only=True) as uow:
        source: str = uow.connection.execute(
            select(e.source_id).where(e.rule_id == rule_id).limit(1)).scalar_one()
    return source
