"""Commands: what a caller asks the service to do, already parsed and validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class EnrolMember:
    member_id: str | None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    region: str | None = None
    enrolled_at: datetime | None = None
    channel: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    #: consent per channel (sms, email, push, phone); None: nothing said, no consent
    consents: dict[str, bool] | None = None
    #: the member who brought them (rewarded on their first qualifying purchase)
    referred_by: str | None = None


@dataclass(frozen=True)
class LineIn:
    """A purchase line (all fields) or a returned line (sku and quantity; price from the sale)."""

    sku: str
    quantity: int
    category: str | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class PaymentIn:
    method: str
    amount: Decimal


@dataclass(frozen=True)
class RecordTransaction:
    """A purchase or a return; `fingerprint` identifies the exact request body for idempotency."""

    transaction_id: str
    type: str
    member_id: str
    occurred_at: datetime
    fingerprint: str
    lines: tuple[LineIn, ...] = ()
    store_id: str | None = None
    channel: str | None = None
    currency: str | None = None
    payments: tuple[PaymentIn, ...] = ()
    offer_codes: tuple[str, ...] = ()
    original_transaction_id: str | None = None
    vouchers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordEvent:
    event_id: str
    type: str
    member_id: str
    occurred_at: datetime
    fingerprint: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Redeem:
    redemption_id: str
    member_id: str
    reward_id: str
    quantity: int
    fingerprint: str
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Adjust:
    """Points a service desk adds (positive) or removes (negative) by hand, and why."""

    adjustment_id: str
    member_id: str
    points: int
    reason: str
    fingerprint: str
    occurred_at: datetime | None = None
