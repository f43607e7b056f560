"""Rules testing the member's value (`member.clv`, `member.potential_value`,
`member.value_segment`): at the till as the last sweep left it, and replayed (backtests,
explain) as it was when the occurrence happened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from flask.testing import FlaskClient

from loyalty.domain.model import Line, Occurrence
from loyalty.engine import read_rule_dir
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.explain import explain_recorded
from loyalty.services.replay import MemoryState, replay
from loyalty.services.rules import explain_member
from loyalty.store import tables as t
from loyalty.store.history import HistoryReader
from tests.conftest import RULES_DIR
from tests.integration.helpers import purchase, use_rules
from tests.integration.test_sweep_value import AS_OF, programme, sweep, values  # noqa: F401

VALUE_RULES = """
ruleset: value
description: Rules on the member's value.
on: [purchase]
rules:
  - id: grow-welcome
    description: 100 points on a purchase by a member marketing wants to grow
    priority: 60
    when:
      - {fact: member.value_segment, is: grow}
    then:
      - award_points: {points: 100}
  - id: high-potential
    description: 7 points on a purchase by a member predicted to bring over 10,000
    priority: 60
    when:
      - {fact: member.potential_value, above: 10000}
      - {fact: member.clv, exists: true}
    then:
      - award_points: {points: 7}
"""
KETTLE = [("KETTLE-1", "kitchen", 1, "199")]
BEFORE = AS_OF - timedelta(hours=2)
AFTER = AS_OF + timedelta(days=2)


def applied(body: dict[str, object]) -> set[str]:
    decisions = body["decisions"]
    assert isinstance(decisions, list)
    return {d["rule_id"] for d in decisions} & {"grow-welcome", "high-potential"}


def test_a_rule_on_the_value_segment_applies_once_a_sweep_has_valued_the_member(
    ctx: ServiceContext, programme: None  # noqa: F811
) -> None:
    use_rules(ctx, value=VALUE_RULES)
    assert applied(purchase(ctx, "P-1", KETTLE, member_id="NEW", at=BEFORE).body) == set()
    sweep(ctx)
    assert values(ctx)["NEW"].value_segment == "grow"
    assert values(ctx)["NEW"].potential_value > Decimal("10000")
    ctx.clock = lambda: AFTER
    assert applied(purchase(ctx, "P-2", KETTLE, member_id="NEW", at=AFTER).body) == {
        "grow-welcome", "high-potential"}
    assert applied(purchase(ctx, "P-3", KETTLE, member_id="REG-00", at=AFTER).body) == set()


def test_replays_see_the_value_the_member_had_when_each_purchase_happened(
    ctx: ServiceContext, programme: None  # noqa: F811
) -> None:
    use_rules(ctx, value=VALUE_RULES)
    purchase(ctx, "P-1", KETTLE, member_id="NEW", at=BEFORE)
    sweep(ctx)
    ctx.clock = lambda: AFTER
    purchase(ctx, "P-2", KETTLE, member_id="NEW", at=AFTER)
    # a purchase sent late, from before the sweep: the member had no value yet
    purchase(ctx, "P-0", KETTLE, member_id="NEW", at=BEFORE - timedelta(hours=1))
    with ctx.uow() as uow:  # the member's value since: the replay must not see it
        uow.connection.execute(t.members.update().where(t.members.c.member_id == "NEW")
                               .values(value_segment="keep", clv=Decimal(1), potential_value=0))
        uow.commit()
    book = ctx.rules.current()
    seen = {}
    for step in replay(HistoryReader(ctx.engine), lambda _: book, MemoryState()):
        if step.item.member_id == "NEW" and step.item.kind == "purchase":
            rules = {rule for c in step.changes for rule, points in c.points_by_rule.items()
                     if points}
            seen[step.item.source_id] = rules & {"grow-welcome", "high-potential"}
    assert seen == {"P-1": set(), "P-2": {"grow-welcome", "high-potential"}, "P-0": set()}
    explained, item = explain_recorded(ctx, "P-2")
    assert item.values["value_segment"] == "grow"
    assert {"grow-welcome", "high-potential"} <= {d["rule_id"] for d in explained["decisions"]}
    # matched by the explanation's own evaluation, so explained in full
    assert any(line.startswith("grow-welcome (value, version") and " fired: " in line
               for line in explained["lines"]), explained["lines"]
    draft = {**read_rule_dir(RULES_DIR), "value.yaml": VALUE_RULES.replace("100 points",
                                                                          "150 points")
             .replace("{points: 100}", "{points: 150}")}
    report = backtest(ctx, draft, start=BEFORE - timedelta(days=1), end=AFTER + timedelta(days=1))
    rules = {row["rule_id"]: row for row in report["per_rule"]}
    assert (rules["grow-welcome"]["draft_points"], rules["grow-welcome"]["against_points"]) == (
        150, 100)  # P-2 only


def test_the_members_record_shows_their_value_once_a_sweep_has_worked_it_out(
    ctx: ServiceContext, programme: None, client: FlaskClient,  # noqa: F811
    auth: Callable[[str], dict[str, str]],
) -> None:
    before = client.get("/api/v1/members/NEW", headers=auth("marketing")).get_json()
    assert before["value"] == {"current_value": None, "potential_value": None, "clv": None,
                               "segment": None, "as_of": None}
    sweep(ctx)
    stored = values(ctx)["NEW"]
    answer = client.get("/api/v1/members/NEW", headers=auth("pos")).get_json()
    assert answer["value"] == {
        "current_value": "2400.00", "potential_value": str(stored.potential_value),
        "clv": str(stored.clv), "segment": "grow", "as_of": "2026-11-20T06:00:00+00:00"}
    never = client.get("/api/v1/members/NEVER", headers=auth("pos")).get_json()
    assert never["value"]["clv"] is None and never["value"]["segment"] is None


def test_explaining_a_purchase_that_did_not_happen_uses_the_members_value_as_it_stands(
    ctx: ServiceContext, programme: None  # noqa: F811
) -> None:
    use_rules(ctx, value=VALUE_RULES)
    purchase(ctx, "P-1", KETTLE, member_id="NEW", at=BEFORE)
    sweep(ctx)
    ctx.clock = lambda: AFTER
    kettle = Occurrence(kind="purchase", source_id="WHAT-IF", occurred_at=AFTER,
                        total=Decimal("199"), lines=(Line("KETTLE-1", "kitchen", 1,
                                                          Decimal("199")),))
    explained = explain_member(ctx, ctx.rules.current(), "NEW", kettle)
    assert {"grow-welcome", "high-potential"} <= {d["rule_id"] for d in explained["decisions"]}
