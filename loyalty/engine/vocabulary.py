"""The facts a rule may test, their types, and how they are read from a snapshot."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from loyalty.domain.catalogue import Catalogue, warranty_covers
from loyalty.domain.history import EventHistory
from loyalty.domain.model import EvaluationInput, Line, MemberStats

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KNOWN_EVENTS = (
    "purchase",
    "return",
    "enrolment",
    "service",
    "complaint",
    "referral",
    "survey",
    "visit",
    "birthday",
    "lifecycle_changed",
    "tier_changed",
    "downgrade_notice",
    "vip_changed",
    "anniversary",
    "important_date",
    "referral_qualified",
)
EVENT_ATTRIBUTES = "event.attributes."
ATTRIBUTE_PREFIXES = (EVENT_ATTRIBUTES, "member.attributes.")
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")
NO_EVENTS = EventHistory()


@dataclass(frozen=True)
class FactDef:
    """One fact: its type (money, integer, text, weekday, date, yes/no, list) and an example."""

    path: str
    type: str
    example: str
    description: str


_FACTS = [
    FactDef("event.type", "text", "purchase", "what happened"),
    FactDef("event.total", "money", "3999.00", "amount paid for the whole purchase"),
    FactDef("event.store", "text", "SH-001", "store where it happened"),
    FactDef("event.channel", "text", "store", "channel: store, web, app, phone, desk"),
    FactDef("event.date", "date", "2026-12-24", "the day it happened"),
    FactDef("event.weekday", "weekday", "saturday", "day of the week, monday..sunday"),
    FactDef("event.month", "integer", "12", "month of the year, 1-12"),
    FactDef("event.hour", "integer", "18", "hour of the day, 0-23, local time"),
    FactDef("event.payment_methods", "list", "card", "payment methods used"),
    FactDef("offers.presented", "list", "WINBACK-500", "offer codes the member presented"),
    FactDef("vouchers.presented", "list", "SORRY-VOUCHER",
            "rewards (ids) whose vouchers the member presented at the till"),
    FactDef("line.sku", "text", "FRIDGE-500L", "product code of one line"),
    FactDef("line.category", "text", "appliances", "product category of one line"),
    FactDef("line.quantity", "integer", "2", "units bought on one line"),
    FactDef("line.amount", "money", "1999.00", "amount of one line (price x quantity)"),
    FactDef("member.tier", "text", "gold", "the member's tier"),
    FactDef("member.vip", "yes/no", "true", "whether the member is a VIP"),
    FactDef("member.lifecycle_stage", "text", "mature",
            "new, dormant, growing, mature, declining, lapsed, churned"),
    FactDef("member.clv", "money", "12000", "lifetime value: current value plus potential"),
    FactDef("member.potential_value", "money", "4500",
            "the value predicted over the programme's value horizon"),
    FactDef("member.value_segment", "text", "grow",
            "the value segment (program.yaml value.segments): keep, grow, maintain, "
            "reduce-cost"),
    FactDef("member.age", "integer", "35", "age in years on the day of the event"),
    FactDef("member.birthday_month", "integer", "7", "month of birth, 1-12"),
    FactDef("member.birthday_day", "integer", "14", "day of the month of birth, 1-31"),
    FactDef("member.region", "text", "east", "region or city"),
    FactDef("member.gender", "text", "f", "gender as recorded"),
    FactDef("member.channel", "text", "app", "channel the member enrolled through"),
    FactDef("member.tenure_days", "integer", "400", "days since enrolment"),
    FactDef("member.tags", "list", "newsletter", "free-form tags on the member"),
    FactDef("stats.spend_30d", "money", "500", "spend over the last 30 days"),
    FactDef("stats.spend_90d", "money", "1500", "spend over the last 90 days"),
    FactDef("stats.spend_365d", "money", "8000", "spend over the last 365 days"),
    FactDef("stats.visits_30d", "integer", "2", "purchases over the last 30 days"),
    FactDef("stats.visits_90d", "integer", "5", "purchases over the last 90 days"),
    FactDef("stats.visits_365d", "integer", "12", "purchases over the last 365 days"),
    FactDef("stats.lifetime_spend", "money", "25000", "spend since enrolment"),
    FactDef("stats.lifetime_visits", "integer", "40", "purchases since enrolment"),
    FactDef("stats.days_since_last_purchase", "integer", "45", "days since the last purchase"),
    FactDef("stats.categories_bought", "list", "appliances", "categories bought before"),
    FactDef("stats.points_available", "integer", "1200", "points the member can spend"),
    FactDef("products.owned", "list", "fridge",
            "SKUs and categories the member bought and did not return"),
    FactDef("products.in_warranty", "list", "FRIDGE-500L",
            "SKUs and categories of products the member holds still under warranty"),
]
FACTS: dict[str, FactDef] = {fact.path: fact for fact in _FACTS}
ATTRIBUTE_TYPE = "attribute"
NUMERIC_TYPES = ("money", "integer", "date")
#: `events.<type>.<measure>`: the member's history of one type of event (not purchases).
EVENT_HISTORY = "events."
HISTORY_MEASURES = {
    "count_30d": "events of this type over the last 30 days",
    "count_90d": "events of this type over the last 90 days",
    "count_365d": "events of this type over the last 365 days",
    "count_lifetime": "events of this type since enrolment",
    "days_since_last": "days since the last event of this type; unknown when never",
}
HISTORY_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
PRODUCT_FACTS = ("products.owned", "products.in_warranty")


def history_path(path: str) -> tuple[str, str] | None:
    """The (event type, measure) an `events.<type>.<measure>` path names, None when it is not
    one (the event type is not checked against the programme here)."""
    if not path.startswith(EVENT_HISTORY):
        return None
    parts = path.split(".")
    if len(parts) != 3 or parts[2] not in HISTORY_MEASURES:
        return None
    if not HISTORY_EVENT_NAME.match(parts[1]):
        return None
    return parts[1], parts[2]


def fact_type(path: str) -> str | None:
    """The type of a fact path, 'attribute' for free-form attributes, None when unknown."""
    if path in FACTS:
        return FACTS[path].type
    if history_path(path) is not None:
        return "integer"
    for prefix in ATTRIBUTE_PREFIXES:
        if path.startswith(prefix) and ATTRIBUTE_NAME.match(path[len(prefix) :]):
            return ATTRIBUTE_TYPE
    return None


def is_line_fact(path: str) -> bool:
    """Whether a fact describes one line of a purchase rather than the whole event."""
    return path.startswith("line.")


def date_number(value: date) -> int:
    """A date as the integer YYYYMMDD, so the engine compares dates as numbers."""
    return value.year * 10000 + value.month * 100 + value.day


def _years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def line_facts(line: Line) -> dict[str, Any]:
    """The line.* facts of one line."""
    return {
        "line.sku": line.sku,
        "line.category": line.category,
        "line.quantity": line.quantity,
        "line.amount": line.amount,
    }


def event_history_facts(stats: MemberStats, types: Iterable[str]) -> dict[str, Any]:
    """The `events.<type>.*` facts of the given event types and of those the statistics hold;
    a type they do not hold has no events (counts 0, days since the last unknown)."""
    facts: dict[str, Any] = {}
    for kind in {*types, *stats.events}:
        history = stats.events.get(kind, NO_EVENTS)
        for measure in HISTORY_MEASURES:
            facts[f"{EVENT_HISTORY}{kind}.{measure}"] = getattr(history, measure)
    return facts


def product_facts(stats: MemberStats, at: datetime,
                  catalogue: Catalogue | None) -> dict[str, list[str]]:
    """`products.owned` (SKUs and categories held) and `products.in_warranty` (those of
    products held whose catalogue warranty, counted from the purchase day, covers the day of
    `at`); days are read in the offset of `at`."""
    owned: dict[str, None] = {}
    covered: dict[str, None] = {}
    day = at.date()
    for held in stats.products:
        if held.quantity < 1:
            continue
        owned.update({held.sku: None, held.category: None})
        product = catalogue.product(held.sku) if catalogue is not None else None
        if product is None or not product.warranty_months:
            continue
        bought = held.bought_at.astimezone(at.tzinfo) if at.tzinfo else held.bought_at
        if warranty_covers(bought.date(), product.warranty_months, day):
            covered.update({held.sku: None, held.category: None})
    return {"products.owned": list(owned), "products.in_warranty": list(covered)}


def snapshot_facts(data: EvaluationInput, *, history: Iterable[str] = (),
                   catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Every event/member/stats fact of a snapshot by path; None when unknown. `history`
    names event types whose `events.*` facts to give even when the statistics hold none of
    them; `catalogue` gives the warranties of `products.in_warranty`."""
    occ, member, stats = data.occurrence, data.member, data.stats
    day = occ.occurred_at.date()
    facts: dict[str, Any] = {
        "event.type": occ.kind,
        "event.total": occ.total,
        "event.store": occ.store_id,
        "event.channel": occ.channel,
        "event.date": date_number(day),
        "event.weekday": WEEKDAYS[day.weekday()],
        "event.month": day.month,
        "event.hour": occ.occurred_at.hour,
        "event.payment_methods": list(occ.payment_methods),
        "offers.presented": list(occ.offer_codes),
        "vouchers.presented": list(occ.voucher_rewards),
        "member.tier": member.tier,
        "member.vip": bool(member.vip),
        "member.lifecycle_stage": member.lifecycle_stage,
        "member.clv": member.clv,
        "member.potential_value": member.potential_value,
        "member.value_segment": member.value_segment,
        "member.age": _years_between(member.birth_date, day) if member.birth_date else None,
        "member.birthday_month": member.birth_date.month if member.birth_date else None,
        "member.birthday_day": member.birth_date.day if member.birth_date else None,
        "member.region": member.region,
        "member.gender": member.gender,
        "member.channel": member.channel,
        "member.tenure_days": (day - member.enrolled_at.date()).days
        if member.enrolled_at
        else None,
        "member.tags": list(member.tags),
        "stats.spend_30d": stats.spend_30d,
        "stats.spend_90d": stats.spend_90d,
        "stats.spend_365d": stats.spend_365d,
        "stats.visits_30d": stats.visits_30d,
        "stats.visits_90d": stats.visits_90d,
        "stats.visits_365d": stats.visits_365d,
        "stats.lifetime_spend": stats.lifetime_spend,
        "stats.lifetime_visits": stats.lifetime_visits,
        "stats.days_since_last_purchase": stats.days_since_last_purchase,
        "stats.categories_bought": list(stats.categories_bought),
        "stats.points_available": stats.points_available,
    }
    facts.update(event_history_facts(stats, history))
    facts.update(product_facts(stats, occ.occurred_at, catalogue))
    for name, value in stats.metrics.items():  # the figures of declared metrics
        facts[f"stats.{name}"] = value
    for name, value in occ.attributes.items():
        facts[f"event.attributes.{name}"] = value
    for name, value in member.attributes.items():
        facts[f"member.attributes.{name}"] = value
    return facts


def attribute_text(value: Any) -> str | None:
    """The written form of an attribute value that text comparisons use."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def attribute_number(value: Any) -> Decimal | None:
    """The numeric value of an attribute for number comparisons, None when not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return None
