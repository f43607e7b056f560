"""What a till prints: the response body of a purchase, return or event, and saving the
member's account and cached balances with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loyalty.domain.ledger import Account
from loyalty.services.decide import Outcome
from loyalty.store.uow import SqlUnitOfWork


def balance_view(account: Account) -> dict[str, int]:
    return {"available": account.available, "pending": account.pending, "debt": account.debt}


def save_account(uow: SqlUnitOfWork, account: Account, recorded_at: Any,
                 **member_values: Any) -> None:
    uow.ledger.save(account, recorded_at)
    uow.members.update(account.member_id, points_available=account.available,
                       points_pending=account.pending, points_debt=account.debt,
                       points_lifetime=account.lifetime, **member_values)


def response_body(key: str, key_value: str, member_id: str, out: Outcome, account: Account,
                  privileges: list[str], clawed_back: int = 0,
                  standing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The receipt; `standing` (services/standing.py) adds when pending points become
    available, what expires next and the progress to the next tier."""
    outlook = dict(standing or {})
    progress = outlook.pop("tier_progress", [])
    return {
        key: key_value,
        "member_id": member_id,
        "points": {"earned": out.earned, "pending": out.pending, "clawed_back": clawed_back},
        "balance": {**balance_view(account), **outlook},
        "tier_progress": progress,
        "tier": {"before": out.tier_before, "after": out.tier_after,
                 "changed": out.tier_before != out.tier_after},
        "rewards": out.rewards,
        "offers": out.offers,
        "privileges": privileges,
        "decisions": out.decisions,
        "notifications": out.notifications,
    }


def active_privilege_names(uow: SqlUnitOfWork, member_id: str, as_of: Any, *,
                           member: Any = None, decisions: Sequence[dict[str, Any]] = ()
                           ) -> list[str]:
    """The privileges active at `as_of`; no lookup when the member's row (read for this write)
    says they hold none and no decision of this write granted one."""
    if (member is not None and not getattr(member, "has_privileges", True)
            and not any(d.get("effect") == "grant_privilege" for d in decisions)):
        return []
    return [row.privilege for row in uow.programme.active_privileges(member_id, as_of)]
