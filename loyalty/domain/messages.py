"""Messages to members and systems: channels, templates and safe placeholders.

A template's text holds placeholders such as `{member.name}`; rendering replaces each with a
value given by name, and nothing else: no expression, attribute lookup or format spec is ever
evaluated. `{{` and `}}` stand for literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: The channel of notifications for the business's own systems (a CRM, a call list, a
#: scheduling system): no member consent is needed, and nothing is sent to the member.
SYSTEM = "system"
#: The channels that reach a member, each needing the member's consent.
MEMBER_CHANNELS = ("sms", "email", "push", "phone")
ALL_CHANNELS = (*MEMBER_CHANNELS, SYSTEM)

#: Where a notification is: waiting to be sent, sent, given up, not sent for want of consent,
#: or withdrawn (the member's personal data was erased).
STATUSES = ("pending", "delivered", "dead", "suppressed", "cancelled")

#: The placeholders a text may use besides `{event.<attribute>}`.
PLACEHOLDERS: dict[str, str] = {
    "member.name": "the member's name",
    "member.id": "the member's id",
    "member.tier": "the member's tier after the occurrence",
    "points.available": "points available after the occurrence",
    "points.pending": "points pending after the occurrence",
    "points.earned": "points the occurrence earned",
    "reward": "the reward the same rule grants (its catalogue name)",
    "voucher": "the voucher code of that reward",
    "offer": "the description of the offer the same rule issues",
    "offer.code": "the code of that offer",
    "expires_at": "the last day of that reward or offer (YYYY-MM-DD)",
    "event.type": "the type of event",
    "event.id": "the id of the event or purchase",
}
EVENT_PREFIX = "event."
MAX_TEXT = 2000

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")


@dataclass(frozen=True)
class MessageTemplate:
    """A named template (templates.yaml): a text per channel, and an optional subject."""

    name: str
    texts: Mapping[str, str] = field(default_factory=dict)
    subject: str = ""
    line: int | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(channel for channel in ALL_CHANNELS if channel in self.texts)


def placeholders(text: str) -> tuple[list[str], list[str]]:
    """The placeholder names a text uses, and what is wrong with its braces."""
    names: list[str] = []
    problems: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if match.group(1) is None:
            problems.append(f"a lone '{token}' (write '{token * 2}' for a brace)")
            continue
        name = match.group(1).strip()
        if not _NAME.match(name):
            problems.append(f"'{{{match.group(1)}}}' is not a placeholder: write a name such as "
                            "{member.name}; nothing in braces is evaluated")
            continue
        names.append(name)
    return names, problems


def unknown_placeholder(name: str) -> bool:
    """Whether a name is neither a known placeholder nor `event.<attribute>`."""
    if name in PLACEHOLDERS:
        return False
    return not (name.startswith(EVENT_PREFIX) and name.count(".") == 1)


def event_attributes(names: Iterable[str]) -> list[str]:
    """The event attributes among placeholder names (`event.reason` -> `reason`)."""
    return [name[len(EVENT_PREFIX):] for name in names
            if name.startswith(EVENT_PREFIX) and name not in PLACEHOLDERS]


def render(text: str, values: Mapping[str, str]) -> str:
    """The text with each placeholder replaced by its value (empty when there is none)."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if match.group(1) is None:
            return token
        return values.get(match.group(1).strip(), "")

    return _TOKEN.sub(one, text)[:MAX_TEXT]


def consented(channel: str, consents: Mapping[str, object] | None) -> bool:
    """Whether a notification on `channel` may be sent: a system one always; a member channel
    only with the member's consent to it (a channel not mentioned: no consent)."""
    if channel == SYSTEM:
        return True
    return bool(consents) and consents.get(channel) is True  # type: ignore[union-attr]
