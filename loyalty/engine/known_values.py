"""The values facts can take in a programme, so that a test no fact could pass is refused.

Words compare without regard to case: `Gold` names the tier gold, `glod` names none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loyalty.domain.attributes import RAISED_EVENTS, TRANSACTION_EVENTS, event_def
from loyalty.domain.catalogue import Catalogue
from loyalty.domain.policy import LIFECYCLE_STAGES, RETIRED_STAGES, AttributeDef, ProgramPolicy
from loyalty.engine.problems import did_you_mean
from loyalty.engine.vocabulary import (
    EVENT_ATTRIBUTES,
    EVENT_HISTORY,
    HISTORY_MEASURES,
    KNOWN_EVENTS,
)

#: The fact type a rule tests an event attribute as, by the attribute's declared type.
ATTRIBUTE_FACT_TYPES = {
    "number": "number",
    "money": "money",
    "word": "text",
    "yes/no": "yes/no",
    "date": "date",
    "list": "list",
}
LISTED = 8  # how many of the possible values a message lists
#: The categories an `important_date` reminder suggests: those the programme sells.
SUGGESTED_CATEGORIES = f"{EVENT_ATTRIBUTES}suggested_categories"
STATS = "stats."


@dataclass(frozen=True)
class KnownValues:
    """What a programme declares: tiers, stages, channels, stores, events and their details."""

    policy: ProgramPolicy = field(default_factory=ProgramPolicy)

    @property
    def event_names(self) -> tuple[str, ...]:
        """Every event type rules may react to: the standard ones and those declared."""
        declared = (e.event_type for e in self.policy.events if e.event_type not in KNOWN_EVENTS)
        return (*KNOWN_EVENTS, *declared)

    @property
    def figure_paths(self) -> tuple[str, ...]:
        """The `stats.<metric>_<period>` facts of the metrics the programme declares."""
        return tuple(f"{STATS}{figure}" for metric in self.policy.metrics
                     for figure in metric.figures)

    def figure_type(self, path: str) -> str | None:
        """The type of a declared metric's figure (`stats.nights_365d`), None for any other."""
        if not path.startswith(STATS):
            return None
        found = self.policy.metric_figure(path.removeprefix(STATS))
        return None if found is None else found[0].fact_type

    @property
    def history_events(self) -> tuple[str, ...]:
        """The event types whose history rules may test (`events.<type>.*`): all but purchases,
        which `stats.*` describes."""
        return tuple(name for name in self.event_names if name != "purchase")

    def history_problem(self, path: str) -> str | None:
        """Why an `events.` path names no history the programme keeps, or None."""
        parts = path.split(".")
        measures = list(HISTORY_MEASURES)
        if len(parts) != 3 or not parts[1] or not parts[2]:
            example = f"{EVENT_HISTORY}service.count_365d"
            return (f"unknown fact '{path}': the history of an event is "
                    f"events.<event>.<measure>, like {example}; the measures are "
                    + ", ".join(measures))
        _, event, measure = parts
        if event == "purchase":
            return (f"'{path}': purchases are described by stats.* (stats.visits_365d, "
                    "stats.days_since_last_purchase...), not events.purchase")
        if event not in self.history_events:
            hint = did_you_mean(event, self.history_events) or (
                ": declare your own events under events: in program.yaml")
            return f"unknown event '{event}' in '{path}'{hint}"
        if measure not in HISTORY_MEASURES:
            return (f"unknown measure '{measure}' in '{path}'" + did_you_mean(measure, measures)
                    + f"; the measures are {', '.join(measures)}")
        return None

    def choices(
        self, path: str, events: tuple[str, ...], attribute: AttributeDef | None = None
    ) -> tuple[tuple[str, ...], str] | None:
        """The words a fact can be and what they are called; None when it can be any word."""
        policy = self.policy
        if path == SUGGESTED_CATEGORIES and "important_date" in events \
                and policy.catalogue is not None:
            return policy.catalogue.categories, "the categories (catalogue.yaml) are"
        if attribute is not None:
            if not attribute.values:
                return None
            declaring = " or ".join(e for e in events if self._declares(e, attribute.name))
            return attribute.values, f"the {attribute.name} of {declaring} events is one of"
        if path == "member.tier" and policy.tiers is not None:
            return policy.tier_names, "the tiers (program.yaml) are"
        if path == "member.lifecycle_stage":
            return LIFECYCLE_STAGES, "the lifecycle stages are"
        if path == "member.value_segment":
            return policy.value.segments.names, "the value segments (program.yaml) are"
        if path in ("event.channel", "member.channel"):
            return policy.channels, "the channels (program.yaml) are"
        if path == "event.store" and policy.stores is not None:
            return policy.stores, "the stores (program.yaml) are"
        if path == "event.type" and events:
            return events, "this rule reacts to"
        if policy.catalogue is not None:
            return self._catalogue_choices(path, policy.catalogue)
        return None

    def _without_warranty(self, path: str, item: str) -> str | None:
        """For a product or category the catalogue sells without a warranty, saying so."""
        catalogue = self.policy.catalogue
        if path != "products.in_warranty" or catalogue is None:
            return None
        folded = item.casefold()
        if any(folded in (p.sku.casefold(), p.category.casefold()) for p in catalogue.products):
            return (f"'{path}' can never hold '{item}': catalogue.yaml gives it no warranty "
                    "(warranty_months)")
        return None

    @staticmethod
    def _catalogue_choices(path: str, catalogue: Catalogue) -> tuple[tuple[str, ...], str] | None:
        """The codes a product fact can hold when the programme lists what it sells."""
        if path == "line.sku":
            return catalogue.skus, "the products (catalogue.yaml) are"
        if path in ("line.category", "stats.categories_bought"):
            return catalogue.categories, "the categories (catalogue.yaml) are"
        if path == "products.owned":
            return ((*catalogue.skus, *catalogue.categories),
                    "the products and categories (catalogue.yaml) are")
        if path == "products.in_warranty":
            covered = catalogue.under_warranty
            categories = dict.fromkeys(product.category for product in covered)
            return ((*(product.sku for product in covered), *categories),
                    "the products with a warranty (catalogue.yaml) and their categories are")
        return None

    def _declares(self, event: str, name: str) -> bool:
        definition = event_def(self.policy, event)
        return definition is not None and definition.attribute(name) is not None

    def attribute(self, name: str, events: tuple[str, ...]) -> AttributeDef | str | None:
        """How event.attributes.<name> is declared for a rule reacting to `events`; a message
        when it is not declared, or declared with different types; None when no event is known."""
        if not events:
            return None
        if not self.policy.declares_events and any(
                e not in RAISED_EVENTS and e not in TRANSACTION_EVENTS for e in events):
            return None  # a programme that declares no events: its attributes are free-form
        found: dict[str, AttributeDef] = {}
        declared: set[str] = set()
        for event in events:
            definition = event_def(self.policy, event)
            if definition is None:
                continue
            declared.update(a.name for a in definition.attributes)
            attribute = definition.attribute(name)
            if attribute is not None:
                found[event] = attribute
        path = EVENT_ATTRIBUTES + name
        if not found:
            hint = did_you_mean(path, [EVENT_ATTRIBUTES + other for other in sorted(declared)])
            return (f"'{path}' is not an attribute of {' or '.join(events)} events{hint}; "
                    "declare the attributes of an event under events: in program.yaml")
        kinds = {attribute.type: event for event, attribute in found.items()}
        if len(kinds) > 1:
            said = " but ".join(f"{kind} for {event} events" for kind, event in kinds.items())
            return f"'{path}' is {said}: test it in separate rules"
        values: tuple[str, ...] = ()
        if all(attribute.values for attribute in found.values()):
            values = tuple(dict.fromkeys(v for a in found.values() for v in a.values))
        return AttributeDef(name, next(iter(kinds)), values)

    def value_problem(
        self, path: str, op: str, value: Any, events: tuple[str, ...],
        attribute: AttributeDef | None = None, *, stored: bool = False,
    ) -> str | None:
        """Why `path <op> value` tests a word the fact can never be, or None; a `stored`
        version (activated already) may name a retired stage (see `stored_reading`)."""
        if path == "products.in_warranty":
            catalogue = self.policy.catalogue
            if catalogue is None:
                return ("'products.in_warranty' is always empty without catalogue.yaml: list the "
                        "products sold there, with their warranty_months")
            if not catalogue.under_warranty:
                return ("'products.in_warranty' is always empty: no product of catalogue.yaml "
                        "has a warranty (warranty_months)")
        known = self.choices(path, events, attribute)
        if known is None or op == "exists":
            return None
        words, noun = known
        folded = [word.casefold() for word in words]
        listing = ", ".join(words[:LISTED]) + (", ..." if len(words) > LISTED else "")
        for item in value if isinstance(value, tuple) else (value,):
            if not isinstance(item, str):
                continue
            if op == "starts_with":
                if not any(word.startswith(item.casefold()) for word in folded):
                    return f"'{path}' never starts with '{item}': {noun} {listing}"
            elif item.casefold() not in folded:
                if stored and _retired(item, words):
                    continue
                without = self._without_warranty(path, item)
                if without is not None:
                    return without
                hint = _retired(item, words) or did_you_mean(item, words, ignore_case=True)
                verb = "hold" if op == "contains" else "be"
                return f"'{path}' can never {verb} '{item}': {noun} {listing}{hint}"
        return None

    def stored_reading(self, path: str, op: str, value: Any, events: tuple[str, ...],
                       attribute: AttributeDef | None = None) -> tuple[str, Any]:
        """How a stored version (activated before a stage was retired) reads a test of that
        stage: `active` as active, growing or mature, so that the rules in force keep loading
        after an upgrade and keep meaning what they meant (members keep `active` until the
        next sweep gives them their new stage)."""
        known = self.choices(path, events, attribute)
        if known is None or tuple(known[0]) != LIFECYCLE_STAGES \
                or op not in ("is", "is_not", "in", "not_in"):
            return op, value
        items = value if isinstance(value, tuple) else (value,)
        read: list[Any] = []
        for item in items:
            read.append(item)
            if isinstance(item, str):
                read.extend(RETIRED_STAGES.get(item.casefold(), ()))
        if len(read) == len(items):
            return op, value
        return {"is": "in", "is_not": "not_in"}.get(op, op), tuple(dict.fromkeys(read))


def _retired(item: str, words: tuple[str, ...]) -> str:
    """For a lifecycle stage no longer given, the stages that took its place; else ''."""
    became = RETIRED_STAGES.get(item.casefold())
    if became is None or tuple(words) != LIFECYCLE_STAGES:
        return ""
    return (f" ('{item}' is no longer a stage: it became {' and '.join(became)}; test both "
            f"with in: [{', '.join(became)}])")
