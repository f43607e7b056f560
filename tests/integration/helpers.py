"""Building commands for service-level tests."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from loyalty.domain.commands import EnrolMember, LineIn, RecordTransaction, Redeem
from loyalty.services import members, rewards, transactions
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.services.sweep.points import PointsPhase
from loyalty.store.uow import SqlUnitOfWork

CHINA = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 14, 3, tzinfo=CHINA)


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
