"""Values for the details of a declared event, of the type program.yaml declares for each:
numbers and money in a range, one of the listed words, yes or no, a date, a list of words."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from loyalty.demo.profiles import Profile
from loyalty.domain.policy import AttributeDef, EventDef

NUMBER_RANGE = (1, 10)
MONEY_RANGE = (20, 2000)
#: Words for a word detail that lists none and that the profile gives none for.
ANY_WORDS = ("standard", "online", "phone", "other")


def attributes(event: EventDef, profile: Profile, rng: random.Random, day: date,
               members: Sequence[str]) -> dict[str, Any]:
    """The details of one event as a till sends them (JSON values): every declared one."""
    return {a.name: value(event.event_type, a, profile, rng, day, members)
            for a in event.attributes}


def value(event_type: str, attribute: AttributeDef, profile: Profile, rng: random.Random,
          day: date, members: Sequence[str]) -> Any:
    """One detail's value: of its declared type, among its words when it lists them."""
    kind = attribute.type
    if kind in ("number", "money"):
        default = NUMBER_RANGE if kind == "number" else MONEY_RANGE
        low, high = profile.ranges.get(f"{event_type}.{attribute.name}",
                                       profile.ranges.get(attribute.name, default))
        amount = rng.randint(low, high)
        return str(Decimal(amount)) if kind == "money" else amount
    if kind == "yes/no":
        return rng.random() < 0.5
    if kind == "date":
        return (day - timedelta(days=rng.randint(0, 30))).isoformat()
    words = attribute.values or profile.words.get(attribute.name) or ()
    if not words and "member" in attribute.name and members:
        words = tuple(members)
    words = words or ANY_WORDS
    if kind == "list":
        return sorted(rng.sample(list(words), k=rng.randint(1, min(2, len(words)))))
    return rng.choice(list(words))
