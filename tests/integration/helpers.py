"""Building commands for service-level tests."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from loyalty import engine as rule_engine
from loyalty.domain.commands import EnrolMember, LineIn, RecordTransaction, Redeem
from loyalty.services import members, rewards, transactions
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.rules import activate
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.services.sweep.points import PointsPhase
from loyalty.store.uow import SqlUnitOfWork
from tests.conftest import RULES_DIR

CHINA = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 14, 3, tzinfo=CHINA)


#: A rule to append to a rule set's `rules:`: 50 points on every purchase.
THANK_YOU = """
  - id: thank-you
    description: 50 points to thank you for every purchase
    priority: 90
    then:
      - award_points: {points: 50}
"""


#: A draft rule set for backtests: one more point per 1 CNY on kitchen lines.
KITCHEN_DOUBLE = """
ruleset: kitchen-double
description: Double points on kitchen appliances
on: [purchase]
rules:
  - id: kitchen-double
    description: 1 extra point per 1 CNY on kitchen appliances
    priority: 35
    then:
      - award_points:
          per_currency_unit: 1
          on_lines: {fact: line.category, is: kitchen}
"""


def use_rules(ctx: ServiceContext, **files: str) -> None:
    """Activate the bundled rules plus the given files (name without `.yaml`: text)."""
    bundled = rule_engine.read_rule_dir(RULES_DIR)
    activate(ctx, {**bundled, **{f"{name}.yaml": text for name, text in files.items()}},
             activated_by="test", reason="test")
    ctx.rules.invalidate()


def limited_rule(rule_id: str, limit: str, points: int = 10, on: str = "purchase") -> str:
    """A rule set of one rule giving `points` on every event of kind `on`, with `limit`."""
    return f"""
ruleset: {rule_id}
description: A rule with a limit.
on: [{on}]
rules:
  - id: {rule_id}
    description: {points} points, limited
    priority: 40
    then:
      - award_points: {{points: {points}}}
    limit: {limit}
"""


def spring_campaign(budget: int) -> str:
    """Two rules of the campaign `spring` (100 and 50 points a purchase) sharing `budget`."""
    return SPRING.replace("BUDGET", str(budget))


SPRING = """
ruleset: spring
description: A campaign of two rules and an offer that share one budget.
on: [purchase]
rules:
  - id: spring-a
    description: 100 spring points
    priority: 40
    campaign: spring
    then:
      - award_points: {points: 100}
    limit: {budget_points: BUDGET}
  - id: spring-b
    description: 50 more spring points
    priority: 41
    campaign: spring
    then:
      - award_points: {points: 50}
"""
SPRING_OFFER = """
ruleset: spring-survey
description: The campaign's offer for answering a survey.
on: [survey]
rules:
  - id: spring-offer
    description: 200 bonus points on the next purchase
    priority: 40
    campaign: spring
    then:
      - issue_offer: {offer: SPRING-200, benefit: bonus_points, value: 200, valid_days: 30}
"""


def fingerprint(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def enrol(ctx: ServiceContext, member_id: str = "M-1001", **extra: Any) -> dict[str, Any]:
    extra.setdefault("email", f"{member_id.lower()}@example.com")
    cmd = EnrolMember(member_id=member_id, name="Ann", enrolled_at=T0 - timedelta(days=400),
                      **extra)
    return members.enrol(ctx, cmd).body


def purchase(ctx: ServiceContext, tx_id: str, lines: list[tuple[str, str, int, str]], *,
             member_id: str = "M-1001", at: datetime = T0, dry_run: bool = False,
             offer_codes: tuple[str, ...] = ()) -> Recorded:
    line_ins = tuple(LineIn(sku=s, category=c, quantity=q, unit_price=Decimal(p))
                     for s, c, q, p in lines)
    cmd = RecordTransaction(
        transaction_id=tx_id, type="purchase", member_id=member_id, occurred_at=at,
        fingerprint=fingerprint(tx=tx_id, lines=lines, member=member_id, offers=offer_codes),
        lines=line_ins, currency="CNY", offer_codes=offer_codes,
    )
    return transactions.record_transaction(ctx, cmd, dry_run=dry_run)


def give_back(ctx: ServiceContext, tx_id: str, original: str, lines: list[tuple[str, int]], *,
              member_id: str = "M-1001", at: datetime = T0) -> Recorded:
    cmd = RecordTransaction(
        transaction_id=tx_id, type="return", member_id=member_id, occurred_at=at,
        fingerprint=fingerprint(tx=tx_id, original=original, lines=lines),
        lines=tuple(LineIn(sku=s, quantity=q) for s, q in lines),
        original_transaction_id=original,
    )
    return transactions.record_transaction(ctx, cmd)


def redeem(ctx: ServiceContext, redemption_id: str, reward_id: str, quantity: int = 1, *,
           member_id: str = "M-1001") -> Recorded:
    return rewards.redeem(ctx, Redeem(redemption_id=redemption_id, member_id=member_id,
                                      reward_id=reward_id, quantity=quantity,
                                      fingerprint=fingerprint(r=redemption_id, q=quantity)))


def points(ctx: ServiceContext, member_id: str = "M-1001",
           as_of: datetime | None = None) -> dict[str, Any]:
    body: dict[str, Any] = members.get_member(ctx, member_id, as_of)["points"]
    return body


class Interrupting(PointsPhase):
    """A points phase that fails at its second batch, as a killed process would."""

    def __init__(self) -> None:
        self.batches = 0

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        self.batches += 1
        if self.batches == 2:
            raise KeyboardInterrupt
        return super().run_batch(sweep, uow, batch)
