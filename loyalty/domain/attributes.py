"""Event attributes: what each type of event carries, and reading a sent value as its type.

The programme declares the attributes of the events tills send (program.yaml `events:`); the
events the service raises itself carry fixed attributes, listed here. Rules see an attribute
as its declared type: money and numbers as Decimal, words casefolded, yes/no as bool, dates as
date, lists as a tuple of casefolded words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.domain.policy import LIFECYCLE_STAGES, AttributeDef, EventDef, ProgramPolicy
from loyalty.domain.relations import DATE_KINDS, RELATIONS, SPEND_BANDS

#: Events the service raises itself; their attributes are fixed, not declared.
RAISED_EVENTS = (
    "enrolment",
    "birthday",
    "anniversary",
    "lifecycle_changed",
    "tier_changed",
    "downgrade_notice",
    "vip_changed",
    "referral_qualified",
    "important_date",
)
#: Events described by their own facts (total, lines, store...), not by attributes.
TRANSACTION_EVENTS = ("purchase", "return")
MONEY_PLACES = 4
MONEY_LIMIT = Decimal(10) ** 12
_DECIMAL_TEXT = re.compile(r"^[+-]?\d+(\.\d+)?$")
EXPECTED = {
    "money": "Must be an amount of money.",
    "number": "Must be a number.",
    "word": "Must be a word.",
    "yes/no": "Must be true or false.",
    "date": "Must be a date like 2026-11-20.",
    "list": "Must be a list of words.",
}


class BadValue(ValueError):
    """A value that is not of its attribute's type; the message says what it must be."""


def raised_events(policy: ProgramPolicy) -> dict[str, EventDef]:
    """The events the service raises, with the attributes it gives them."""
    tiers = policy.tier_names

    def word(name: str, values: tuple[str, ...] = ()) -> AttributeDef:
        return AttributeDef(name, "word", tuple(value.casefold() for value in values))

    def event(name: str, *attributes: AttributeDef) -> EventDef:
        return EventDef(name, attributes)

    stage = LIFECYCLE_STAGES
    day = AttributeDef("date", "date")
    return {
        "enrolment": event("enrolment"),
        "birthday": event("birthday", AttributeDef("age", "number"), day),
        "anniversary": event("anniversary", AttributeDef("years", "number"), day),
        "lifecycle_changed": event("lifecycle_changed", word("stage", stage),
                                   word("previous", stage)),
        "tier_changed": event("tier_changed", word("from", tiers), word("to", tiers),
                              word("direction", ("up", "down"))),
        "downgrade_notice": event("downgrade_notice", word("tier", tiers), word("to", tiers),
                                  AttributeDef("review_at", "date"),
                                  AttributeDef("downgrade_at", "date")),
        "vip_changed": event("vip_changed", AttributeDef("vip", "yes/no"),
                             AttributeDef("metric", "number")),
        # a few days ahead of a date the member recorded (a spouse's birthday...), with
        # gift ideas from the member's own purchases
        "important_date": event("important_date", word("kind", DATE_KINDS),
                                word("relation", RELATIONS), word("name"),
                                word("label"), day,
                                AttributeDef("days_ahead", "number"),
                                AttributeDef("suggested_categories", "list"),
                                word("spend_band", SPEND_BANDS),
                                AttributeDef("usual_spend", "money")),
        # for the referrer, when the friend they brought first buys enough (program.yaml
        # `referrals:`): the friend's member id, that purchase and what it cost
        "referral_qualified": event("referral_qualified", word("friend"),
                                    word("transaction_id"), AttributeDef("total", "money")),
    }


def event_def(policy: ProgramPolicy, event_type: str) -> EventDef | None:
    """What an event of this type carries: fixed for raised events, else as declared."""
    raised = raised_events(policy).get(event_type) if event_type in RAISED_EVENTS else None
    return raised or policy.declared_event(event_type)


def read_value(attribute: AttributeDef, raw: Any) -> Any:
    """`raw` as its attribute's type (None stays None); BadValue when it is not of that type."""
    if raw is None:
        return None
    kind = attribute.type
    if kind in ("money", "number"):
        return _number(raw, money=kind == "money")
    if kind == "word":
        word = _word(raw, kind)
        if attribute.values and word not in attribute.values:
            raise BadValue(f"Must be one of: {', '.join(attribute.values)}.")
        return word
    if kind == "yes/no":
        if not isinstance(raw, bool):
            raise BadValue(EXPECTED[kind])
        return raw
    if kind == "date":
        return _date(raw)
    if not isinstance(raw, list | tuple):
        raise BadValue(EXPECTED["list"])
    return tuple(_word(item, "list") for item in raw)


def read_attributes(
    event: EventDef | None, raw: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The declared attributes read as their types, and the problems by field name
    (`attributes.<name>`); attributes the event does not declare are left out."""
    values: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for name, value in raw.items():
        attribute = event.attribute(name) if event is not None else None
        if attribute is None:
            continue
        try:
            values[name] = read_value(attribute, value)
        except BadValue as error:
            problems[f"attributes.{name}"] = [str(error)]
    return values, problems


def attribute_problems(
    policy: ProgramPolicy, event_type: str, raw: Mapping[str, Any]
) -> dict[str, list[str]]:
    """What is wrong with the attributes sent with an event, by attribute name."""
    _, problems = read_attributes(event_def(policy, event_type), raw)
    return {name.removeprefix("attributes."): messages for name, messages in problems.items()}


def _number(raw: Any, *, money: bool) -> Decimal:
    expected = EXPECTED["money" if money else "number"]
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise BadValue(expected)
    if isinstance(raw, str) and not _DECIMAL_TEXT.match(raw.strip()):
        raise BadValue(expected)
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as error:
        raise BadValue(expected) from error
    if not value.is_finite() or abs(value) >= MONEY_LIMIT:
        raise BadValue(expected)
    if money:
        exponent = value.as_tuple().exponent
        if value < 0 or (isinstance(exponent, int) and exponent < -MONEY_PLACES):
            raise BadValue(f"{expected[:-1]}: not negative, at most {MONEY_PLACES} decimal places.")
    return value


def _word(raw: Any, kind: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise BadValue(EXPECTED[kind])
    return raw.casefold()


def _date(raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            if len(raw) == 10:
                return date.fromisoformat(raw)
            return datetime.fromisoformat(raw).date()  # a date-time counts as its own day
        except ValueError:
            pass
    raise BadValue(EXPECTED["date"])
