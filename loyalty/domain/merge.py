"""Folding a duplicate member into the member who survives: what of the duplicate's profile
the survivor takes, which of its contact details stay only as aliases, and which tier the
person keeps. Plain values in, plain values out; the merge service writes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

#: Contact details by which a member is found; each is unique among members and aliases.
IDENTIFIERS = ("phone", "email")
#: Profile fields the survivor takes from the duplicate when it has none of its own.
FILLED = ("name", "birth_date", "gender", "region")
#: How an identifier the survivor did not take is recorded in its profile history.
ALIAS_PREFIX = "alias."


@dataclass(frozen=True)
class MergeMembers:
    """Fold `duplicate_id` into `member_id` (the survivor), saying why."""

    merge_id: str
    duplicate_id: str
    reason: str
    member_id: str
    fingerprint: str


@dataclass(frozen=True)
class ProfileMerge:
    """What the survivor's row takes (`taken`: field -> value), the duplicate's identifiers
    that become the survivor's aliases (field, value), and what the duplicate's row loses."""

    taken: dict[str, Any]
    aliases: tuple[tuple[str, str], ...]
    cleared: tuple[str, ...]


def merge_profile(survivor: Mapping[str, Any], duplicate: Mapping[str, Any]) -> ProfileMerge:
    """The duplicate's phone and e-mail move onto the survivor where it has none, and are kept
    as aliases where it has its own; its name, birth date, gender and region fill the
    survivor's blanks (the duplicate keeps those: they identify nobody else)."""
    taken: dict[str, Any] = {}
    aliases = []
    cleared = []
    for field in IDENTIFIERS:
        value = duplicate.get(field)
        if value is None:
            continue
        cleared.append(field)
        if survivor.get(field) is None:
            taken[field] = value
        elif survivor.get(field) != value:
            aliases.append((field, value))
    for field in FILLED:
        if survivor.get(field) is None and duplicate.get(field) is not None:
            taken[field] = duplicate[field]
    return ProfileMerge(taken, tuple(aliases), tuple(cleared))


def higher_tier(ladder: Sequence[str], survivor: str, duplicate: str) -> str:
    """The tier the person keeps: the higher of the two on the ladder (lowest first). A merge
    must not cost a member a status one of their cards earned; the next review judges the
    combined history by the ladder's own rules. A tier the ladder no longer has counts lowest."""
    def rank(tier: str) -> int:
        return ladder.index(tier) if tier in ladder else -1

    return duplicate if rank(duplicate) > rank(survivor) else survivor


def combined_figures(survivor: Mapping[str, Any], duplicate: Mapping[str, Any]) -> dict[str, Any]:
    """The survivor's lifetime figures with the duplicate's added: spend and visits summed,
    categories bought united (the survivor's first), the later last purchase."""
    categories = list(survivor.get("categories") or ())
    categories += [c for c in duplicate.get("categories") or () if c not in categories]
    last: list[datetime] = [at for at in (survivor.get("last_purchase_at"),
                                          duplicate.get("last_purchase_at")) if at is not None]
    return {
        "lifetime_spend": Decimal(survivor.get("lifetime_spend") or 0)
        + Decimal(duplicate.get("lifetime_spend") or 0),
        "lifetime_visits": int(survivor.get("lifetime_visits") or 0)
        + int(duplicate.get("lifetime_visits") or 0),
        "categories": categories,
        "last_purchase_at": max(last) if last else None,
    }


#: The duplicate's row after the merge: its figures went to the survivor with its history.
EMPTIED = {"lifetime_spend": Decimal(0), "lifetime_visits": 0, "categories": [],
           "last_purchase_at": None}
