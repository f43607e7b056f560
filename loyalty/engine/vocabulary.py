"""The facts a rule may test, their types, and how they are read from a snapshot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from loyalty.domain.model import EvaluationInput, Line

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
)
EVENT_ATTRIBUTES = "event.attributes."
ATTRIBUTE_PREFIXES = (EVENT_ATTRIBUTES, "member.attributes.")
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")


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
    FactDef("line.sku", "text", "FRIDGE-500L", "product code of one line"),
    FactDef("line.category", "text", "appliances", "product category of one line"),
    FactDef("line.quantity", "integer", "2", "units bought on one line"),
    FactDef("line.amount", "money", "1999.00", "amount of one line (price x quantity)"),
    FactDef("member.tier", "text", "gold", "the member's tier"),
    FactDef("member.vip", "yes/no", "true", "whether the member is a VIP"),
    FactDef("member.lifecycle_stage", "text", "active", "new, active, declining, lapsed, churned"),
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
]
FACTS: dict[str, FactDef] = {fact.path: fact for fact in _FACTS}
ATTRIBUTE_TYPE = "attribute"
NUMERIC_TYPES = ("money", "integer", "date")


def fact_type(path: str) -> str | None:
    """The type of a fact path, 'attribute' for free-form attributes, None when unknown."""
    if path in FACTS:
        return FACTS[path].type
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


def snapshot_facts(data: EvaluationInput) -> dict[str, Any]:
    """Every event/member/stats fact of a snapshot by path; None when unknown."""
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
        "member.tier": member.tier,
        "member.vip": bool(member.vip),
        "member.lifecycle_stage": member.lifecycle_stage,
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
