"""A member's profile as it changes: what an edit or an erasure touches, field by field, from
what to what. Plain values in, plain values out; the service writes them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from loyalty.domain.contact import CHANNELS
from loyalty.domain.errors import ValidationFailed

#: The profile's own fields, each replaced as a whole by an edit.
PROFILE_FIELDS = ("name", "email", "phone", "birth_date", "gender", "region")
#: What an edit may change besides them: attributes and consents are merged, tags replaced.
EDITABLE = (*PROFILE_FIELDS, "attributes", "tags", "consents")
#: Fields that hold personal data: erased on request, and scrubbed from the member's history
#: (with those named by `PERSONAL_PREFIXES`, such as `attributes.<name>`).
PERSONAL_FIELDS = (*PROFILE_FIELDS, "attributes")
ATTRIBUTE_PREFIX = "attributes."
#: A merged duplicate's phone or e-mail kept as the survivor's alias (`alias.phone` ...).
ALIAS_PREFIX = "alias."
#: History fields named by a prefix that hold personal data.
PERSONAL_PREFIXES = (ATTRIBUTE_PREFIX, ALIAS_PREFIX)
CONSENT_PREFIX = "consents."
#: The same bounds as enrolment's attributes, for the attributes an edit leaves the member with.
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTES_BYTES = 16 * 1024

#: Why a profile changed (`member_changes.source`).
PROFILE, CONSENT, ERASURE, MERGE = "profile", "consent", "erasure", "merge"


@dataclass(frozen=True)
class Change:
    """One field changed: its old and new value as JSON values."""

    field: str
    old: Any
    new: Any
    source: str = PROFILE


@dataclass(frozen=True)
class Profile:
    """What a member's profile holds now."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    region: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    consents: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The columns to write and the changes to record; both empty when nothing changed."""

    values: dict[str, Any]
    changes: list[Change]


def consents_of(stored: Mapping[str, Any] | None) -> dict[str, bool]:
    """Consent on every channel: a channel never answered is no consent."""
    stored = stored or {}
    return {channel: bool(stored.get(channel, False)) for channel in CHANNELS}


def history_value(value: Any) -> Any:
    """A profile value as the member's history keeps it (a date in ISO form)."""
    return value.isoformat() if isinstance(value, date) else value


def consent_changes(current: Mapping[str, Any] | None, given: Mapping[str, bool],
                    source: str = CONSENT) -> tuple[dict[str, bool], list[Change]]:
    """Consents after `given` (some channels) is merged in, and one change per channel that
    turned."""
    before = consents_of(current)
    after = {**before, **{channel: bool(value) for channel, value in given.items()}}
    changes = [Change(CONSENT_PREFIX + channel, before[channel], after[channel], source)
               for channel in CHANNELS if before[channel] != after[channel]]
    return after, changes


def _merged_attributes(current: Mapping[str, Any],
                       given: Mapping[str, Any]) -> tuple[dict[str, Any], list[Change]]:
    merged = dict(current)
    changes = []
    for name, value in given.items():
        old = merged.get(name)
        if value is None:
            if name in merged:
                del merged[name]
                changes.append(Change(ATTRIBUTE_PREFIX + name, old, None))
        elif name not in merged or old != value or type(old) is not type(value):
            merged[name] = value
            changes.append(Change(ATTRIBUTE_PREFIX + name, old, value))
    problems = []
    if len(merged) > MAX_ATTRIBUTES:
        problems.append(f"A member has at most {MAX_ATTRIBUTES} attributes; this would leave "
                        f"{len(merged)} (give null to remove one).")
    if len(json.dumps(merged, ensure_ascii=False).encode("utf-8", "surrogatepass")) \
            > MAX_ATTRIBUTES_BYTES:
        problems.append(f"A member's attributes take at most {MAX_ATTRIBUTES_BYTES // 1024} KiB "
                        "as JSON; this would be more.")
    if problems:
        raise ValidationFailed.on_fields({"attributes": problems})
    return merged, changes


def edit(profile: Profile, given: Mapping[str, Any]) -> Outcome:
    """What an edit does: each field given replaces the old value (contact details already in
    canonical form), attributes are merged (null removes one), consents merged per channel."""
    values: dict[str, Any] = {}
    changes: list[Change] = []
    for name in PROFILE_FIELDS:
        if name in given and given[name] != getattr(profile, name):
            values[name] = given[name]
            changes.append(Change(name, history_value(getattr(profile, name)),
                                  history_value(given[name])))
    if "attributes" in given:
        merged, attribute_changes = _merged_attributes(profile.attributes, given["attributes"])
        if attribute_changes:
            values["attributes"] = merged
            changes.extend(attribute_changes)
    if "tags" in given and tuple(given["tags"]) != tuple(profile.tags):
        values["tags"] = list(given["tags"])
        changes.append(Change("tags", list(profile.tags), list(given["tags"])))
    if "consents" in given:
        consents, consent_changes_ = consent_changes(profile.consents, given["consents"])
        if consent_changes_:
            values["consents"] = consents
            changes.extend(consent_changes_)
    return Outcome(values, changes)


def erasure(profile: Profile) -> Outcome:
    """What erasing the member's personal data does: every personal field blanked (its old
    value not kept), attributes emptied and every consent withdrawn."""
    values: dict[str, Any] = {name: None for name in PROFILE_FIELDS}
    changes = [Change(name, None, None, ERASURE) for name in PROFILE_FIELDS
               if getattr(profile, name) is not None]
    values["attributes"] = {}
    changes.extend(Change(ATTRIBUTE_PREFIX + name, None, None, ERASURE)
                   for name in profile.attributes)
    values["consents"], withdrawn = consent_changes(
        profile.consents, dict.fromkeys(CHANNELS, False), ERASURE)
    changes.extend(withdrawn)
    return Outcome(values, changes)


def is_personal(field_name: str) -> bool:
    """Whether a history row of this field holds personal data."""
    return field_name in PERSONAL_FIELDS or field_name.startswith(PERSONAL_PREFIXES)
