"""The values facts can take in a programme, so that a test no fact could pass is refused.

Words compare without regard to case: `Gold` names the tier gold, `glod` names none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loyalty.domain.attributes import RAISED_EVENTS, TRANSACTION_EVENTS, event_def
from loyalty.domain.policy import LIFECYCLE_STAGES, AttributeDef, ProgramPolicy
from loyalty.engine.problems import did_you_mean
from loyalty.engine.vocabulary import EVENT_ATTRIBUTES, KNOWN_EVENTS

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


@dataclass(frozen=True)
class KnownValues:
    """What a programme declares: tiers, stages, channels, stores, events and their details."""

    policy: ProgramPolicy = field(default_factory=ProgramPolicy)

    @property
    def event_names(self) -> tuple[str, ...]:
        """Every event type rules may react to: the standard ones and those declared."""
        declared = (e.event_type for e in self.policy.events if e.event_type not in KNOWN_EVENTS)
        return (*KNOWN_EVENTS, *declared)

    def choices(
        self, path: str, events: tuple[str, ...], attribute: AttributeDef | None = None
    ) -> tuple[tuple[str, ...], str] | None:
        """The words a fact can be and what they are called; None when it can be any word."""
        policy = self.policy
        if attribute is not None:
            if not attribute.values:
                return None
            declaring = " or ".join(e for e in events if self._declares(e, attribute.name))
            return attribute.values, f"the {attribute.name} of {declaring} events is one of"
        if path == "member.tier" and policy.tiers is not None:
            return policy.tier_names, "the tiers (program.yaml) are"
        if path == "member.lifecycle_stage":
            return LIFECYCLE_STAGES, "the lifecycle stages are"
        if path in ("event.channel", "member.channel"):
            return policy.channels, "the channels (program.yaml) are"
        if path == "event.store" and policy.stores is not None:
            return policy.stores, "the stores (program.yaml) are"
        if path == "event.type" and events:
            return events, "this rule reacts to"
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
        attribute: AttributeDef | None = None,
    ) -> str | None:
        """Why `path <op> value` tests a word the fact can never be, or None."""
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
                hint = did_you_mean(item, words, ignore_case=True)
                return f"'{path}' can never be '{item}': {noun} {listing}{hint}"
        return None
