"""Referrals: when a friend's purchase rewards the member who brought them, and who is the same
person under another membership. Plain Python."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from loyalty.domain.policy import ReferralPolicy

#: The one event a friend's qualifying purchase raises for the referrer: its id names the
#: friend, so there is at most one per friend, ever.
REFERRAL_EVENT = "referral_qualified"
#: Mail providers that ignore dots in the local part, and their other names.
DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def referral_event_id(friend_id: str) -> str:
    return f"referral:{friend_id}"


def mailbox(email: str | None) -> str | None:
    """The mailbox an address delivers to, for telling one person from another: without
    case, a `+tag`, and (for providers that ignore them) the dots of the local part. Never
    stored; only compared."""
    text = (email or "").strip().casefold()
    if "@" not in text:
        return text or None
    local, _, domain = text.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOTLESS:
        domain = DOTLESS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


@dataclass(frozen=True)
class Contacts:
    """Every phone number and e-mail address a member has, or had, on record."""

    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()

    @classmethod
    def of(cls, phones: Iterable[str | None], emails: Iterable[str | None]) -> Contacts:
        return cls(frozenset(p for p in phones if p),
                   frozenset(box for box in (mailbox(e) for e in emails) if box))

    def shared_with(self, other: Contacts) -> str | None:
        """Which kind of contact (phone, email) the two have in common, if any."""
        if self.phones & other.phones:
            return "phone"
        if self.emails & other.emails:
            return "email"
        return None


def qualifies(policy: ReferralPolicy, enrolled_at: datetime | None, purchased_at: datetime,
              total: Decimal) -> bool:
    """Whether a referred friend's purchase is enough to reward the referrer."""
    if total < policy.min_purchase or total <= 0:
        return False
    if policy.within_days is None or enrolled_at is None:
        return True
    return purchased_at <= enrolled_at + timedelta(days=policy.within_days)
