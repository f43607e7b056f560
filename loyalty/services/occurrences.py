"""Commands from the till as the decision path sees them: occurrences."""

from __future__ import annotations

from decimal import Decimal

from loyalty.domain.commands import RecordEvent, RecordTransaction
from loyalty.domain.model import Line, Occurrence


def purchase_occurrence(cmd: RecordTransaction) -> Occurrence:
    """The purchase as the rule engine sees it."""
    lines = tuple(
        Line(line.sku, line.category or "", line.quantity, line.unit_price or Decimal("0"))
        for line in cmd.lines
    )
    return Occurrence(
        kind="purchase", source_id=cmd.transaction_id, occurred_at=cmd.occurred_at,
        total=sum((line.amount for line in lines), start=Decimal("0")), lines=lines,
        store_id=cmd.store_id, channel=cmd.channel, currency=cmd.currency,
        payment_methods=tuple(p.method for p in cmd.payments), offer_codes=cmd.offer_codes,
        vouchers=cmd.vouchers,
    )


def return_occurrence(cmd: RecordTransaction) -> Occurrence:
    """A return as the decision path sees it: the units brought back, by product code."""
    lines = tuple(Line(line.sku, line.category or "", line.quantity,
                       line.unit_price or Decimal("0")) for line in cmd.lines)
    return Occurrence(kind="return", source_id=cmd.transaction_id, occurred_at=cmd.occurred_at,
                      lines=lines, store_id=cmd.store_id, channel=cmd.channel,
                      currency=cmd.currency)


def event_occurrence(cmd: RecordEvent) -> Occurrence:
    return Occurrence(kind=cmd.type, source_id=cmd.event_id, occurred_at=cmd.occurred_at,
                      attributes=dict(cmd.attributes))
