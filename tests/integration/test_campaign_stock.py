"""Gifts that rules grant come out of the catalogue stock, and a campaign's budget counts every
point the campaign gives: all its rules, and the offers it issued when they are used."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from loyalty import engine as rule_engine
from loyalty.domain.commands import RecordEvent
from loyalty.domain.decisions import AwardPoints, Decision
from loyalty.domain.model import Occurrence
from loyalty.services import events, members, rewards
from loyalty.services.context import ServiceContext
from loyalty.services.limits import MAX_AWARD, capped_points
from loyalty.services.rules import activate
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, fingerprint, purchase

FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
KETTLE = ("KETTLE-1", "small-kitchen", 1, "100.00")

DOUBLE_ELEVEN = """
ruleset: double-eleven
description: A campaign with a budget shared by its rules.
on: [purchase]
rules:
  - id: d11-bonus
    description: 100 bonus points
    priority: 40
    campaign: double-11
    then:
      - award_points: {points: 100}
    limit: {budget_points: 250}
  - id: d11-extra
    description: 100 more bonus points
    priority: 40
    campaign: double-11
    then:
      - award_points: {points: 100}
"""
DOUBLE_ELEVEN_SURVEY = """
ruleset: double-eleven-survey
description: The campaign's offer for answering a survey.
on: [survey]
rules:
  - id: d11-survey-offer
    description: 200 bonus points on the next purchase for answering a survey
    priority: 40
    campaign: double-11
    then:
      - issue_offer: {offer: D11-SURVEY, benefit: bonus_points, value: 200, valid_days: 30}
"""


@pytest.fixture
def member(ctx: ServiceContext) -> str:
    ctx.clock = lambda: T0
    return str(enrol(ctx)["member_id"])


def stock_left(ctx: ServiceContext, reward_id: str) -> Any:
    return next(r["stock_remaining"] for r in rewards.catalogue(ctx)
                if r["reward_id"] == reward_id)


def with_campaign(ctx: ServiceContext) -> None:
    files = rule_engine.read_rule_dir(RULES_DIR)
    activate(ctx, {**files, "double_eleven.yaml": DOUBLE_ELEVEN,
                   "double_eleven_survey.yaml": DOUBLE_ELEVEN_SURVEY},
             activated_by="test", reason="test")
    ctx.rules.invalidate()


def campaign_points(body: dict[str, Any]) -> int:
    return sum(d.get("points") or 0 for d in body["decisions"]
               if d["rule_id"] in {"d11-bonus", "d11-extra"})


def test_a_gift_granted_by_a_rule_comes_out_of_the_stock(ctx: ServiceContext,
                                                        member: str) -> None:
    before = stock_left(ctx, "ICE-MAKER")
    body = purchase(ctx, "S-1", [FRIDGE]).body
    assert [r["reward_id"] for r in body["rewards"]] == ["ICE-MAKER"]
    assert stock_left(ctx, "ICE-MAKER") == before - 1


def test_a_gift_out_of_stock_is_skipped_and_the_purchase_still_counts(
    ctx: ServiceContext, member: str
) -> None:
    stock = ctx.rules.current().policy.reward("ICE-MAKER").stock  # type: ignore[union-attr]
    purchase(ctx, "S-0", [KETTLE])
    with ctx.uow() as uow:
        uow.programme.lock_reward_counter("ICE-MAKER")
        uow.connection.execute(update(t.reward_counters)
                               .where(t.reward_counters.c.reward_id == "ICE-MAKER")
                               .values(redeemed=stock))
        uow.commit()
    recorded = purchase(ctx, "S-1", [FRIDGE])
    assert recorded.status == 201
    assert recorded.body["rewards"] == []
    # 3999 for the refrigerator and 200 for a first appliance after the kettle
    assert recorded.body["points"]["earned"] == 4199
    earned = {d["rule_id"]: d["points"] for d in recorded.body["decisions"] if d.get("points")}
    assert earned == {"base-earn": 3999, "cross-category-bonus": 200}
    (gift,) = [d for d in recorded.body["decisions"] if d["effect"] == "grant_reward"]
    assert gift["reason"] == ("Buy a refrigerator, get an ice maker; "
                              "not given: ICE-MAKER is out of stock")
    assert stock_left(ctx, "ICE-MAKER") == 0


def test_a_voucher_shows_the_same_validity_on_the_receipt_and_the_member(
    ctx: ServiceContext, member: str
) -> None:
    body = purchase(ctx, "S-1", [FRIDGE]).body
    held = members.get_member(ctx, member)["rewards"]
    voucher = next(r for r in held if r["voucher_code"] == body["rewards"][0]["voucher_code"])
    assert voucher["valid_until"] == body["rewards"][0]["valid_until"]
    assert body["rewards"][0]["valid_until"].endswith("+00:00")


def test_a_campaign_budget_counts_every_rule_of_the_campaign(
    ctx: ServiceContext, member: str
) -> None:
    with_campaign(ctx)
    assert campaign_points(purchase(ctx, "S-1", [KETTLE]).body) == 200
    second = purchase(ctx, "S-2", [KETTLE], at=T0 + timedelta(minutes=1)).body
    assert campaign_points(second) == 0  # 200 more would pass the campaign's 250
    with ctx.uow(read_only=True) as uow:
        used = dict(uow.connection.execute(select(t.rule_budgets)).all())
    assert used == {"campaign:double-11": 200}


def test_offer_points_used_at_the_till_count_against_the_campaign_budget(
    ctx: ServiceContext, member: str
) -> None:
    with_campaign(ctx)
    events.record_event(ctx, RecordEvent(event_id="E-1", type="survey", member_id=member,
                                         occurred_at=T0, fingerprint=fingerprint(e=1)))
    body = purchase(ctx, "S-1", [KETTLE], offer_codes=("D11-SURVEY",)).body
    assert [(o["offer_code"], o["status"], o["points"]) for o in body["offers"]] == [
        ("D11-SURVEY", "used", 200)]
    with ctx.uow(read_only=True) as uow:
        used = dict(uow.connection.execute(select(t.rule_budgets)).all())
    assert campaign_points(body) == 200
    assert used == {"campaign:double-11": 400}  # the rules' 200 and the offer's 200


def test_a_runaway_rate_never_awards_more_than_a_64_bit_balance_can_hold() -> None:
    decision = Decision(rule_id="runaway", ruleset="r", ruleset_version="1",
                        effect=AwardPoints(rate=Decimal(10) ** 12), reason="", priority=1,
                        order=0)
    occurrence = Occurrence(kind="purchase", source_id="S-1", occurred_at=T0,
                            total=Decimal("1000000000"))
    assert capped_points([decision], occurrence) == {0: MAX_AWARD}
    assert MAX_AWARD * 1000 < 2**63  # a thousand capped awards still fit a balance
