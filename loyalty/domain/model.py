"""Plain-Python facts the service reasons about: members, what they did, and their statistics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from loyalty.domain.history import EventHistory, Holding


@dataclass(frozen=True)
class Line:
    """One line of a purchase or return."""

    sku: str
    category: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Occurrence:
    """Something a member did that rules react to: a purchase, a service visit, a complaint...

    `kind` is the event type (`purchase`, `return`, `service`, `complaint`, `referral`,
    `survey`, `visit`, `enrolment`, `birthday`, or a custom name). Purchases carry lines and a
    total; other events carry free-form attributes.
    """

    kind: str
    source_id: str
    occurred_at: datetime
    total: Decimal = Decimal("0")
    lines: tuple[Line, ...] = ()
    store_id: str | None = None
    channel: str | None = None
    currency: str | None = None
    payment_methods: tuple[str, ...] = ()
    offer_codes: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    #: the voucher codes a purchase presents, and (once the decision path has checked them)
    #: the ids of the rewards they are vouchers for
    vouchers: tuple[str, ...] = ()
    voucher_rewards: tuple[str, ...] = ()


@dataclass
class Member:
    """A member as rules and tills see them."""

    member_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    region: str | None = None
    enrolled_at: datetime | None = None
    channel: str | None = None
    tier: str = "member"
    vip: bool = False
    lifecycle_stage: str = "new"
    tags: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    #: the member's value as the last sweep worked it out (None: not valued yet, or never
    #: bought): current plus predicted value, the predicted part, and the value segment
    clv: Decimal | None = None
    potential_value: Decimal | None = None
    value_segment: str | None = None


@dataclass(frozen=True)
class MemberStats:
    """The member's behaviour as of the evaluated occurrence (before it is counted)."""

    spend_30d: Decimal = Decimal("0")
    spend_90d: Decimal = Decimal("0")
    spend_365d: Decimal = Decimal("0")
    visits_30d: int = 0
    visits_90d: int = 0
    visits_365d: int = 0
    lifetime_spend: Decimal = Decimal("0")
    lifetime_visits: int = 0
    days_since_last_purchase: int | None = None
    categories_bought: tuple[str, ...] = ()
    points_available: int = 0
    points_lifetime: int = 0
    points_365d: int = 0
    #: `events.<type>.*` facts: the history of each event type the rules test (others: none)
    events: Mapping[str, EventHistory] = field(default_factory=dict)
    #: `products.*` facts: what the member bought and still holds (when the rules test it)
    products: tuple[Holding, ...] = ()
    #: `stats.<metric>_<period>` facts: the figures of the metrics program.yaml declares, by
    #: figure name (`nights_365d`); none when it declares none
    metrics: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluationInput:
    """The immutable snapshot the rule engine matches against."""

    occurrence: Occurrence
    member: Member
    stats: MemberStats
    as_of: datetime
