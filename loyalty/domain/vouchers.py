"""Rewards a member holds as vouchers: presenting them at the till, and what a return of the
purchase that granted them takes back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty.domain.errors import VoucherRefused

HELD, USED, REVOKED = "held", "used", "revoked"


@dataclass(frozen=True)
class HeldReward:
    """A reward given to a member, with its voucher code and what became of it: `held`,
    `used` by a purchase (`used_by`), or `revoked` by a return (`revoked_by`). A used reward
    whose purchase was returned is `kept_by` that return. `source_lines` are the lines of the
    purchase it was granted for (None: the purchase as a whole, or not a purchase's)."""

    key: Any
    voucher_code: str
    member_id: str
    reward_id: str
    quantity: int
    source_type: str
    source_id: str
    granted_at: datetime
    valid_until: datetime | None = None
    rule_id: str | None = None
    campaign: str | None = None
    status: str = HELD
    used_by: str | None = None
    revoked_by: str | None = None
    kept_by: str | None = None
    source_lines: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SaleLine:
    """A line of a purchase as a return leaves it: bought, and returned in all."""

    line_no: int
    quantity: int
    returned: int


def _problem(code: str, reward: HeldReward | None, member_id: str, at: datetime,
             seen: set[str]) -> tuple[str, str] | None:
    """Why the voucher `code` cannot be used by `member_id` at `at`, as (reason, words)."""
    if code in seen:
        return "listed_twice", "listed more than once"
    if reward is None:
        return "unknown", "no such voucher"
    if reward.member_id != member_id:
        return "other_member", "it is another member's"
    if reward.status == REVOKED:
        return "revoked", f"taken back by return {reward.revoked_by}"
    if reward.status == USED:
        return "used", f"already used by purchase {reward.used_by}"
    if reward.granted_at > at:
        return "not_yet_granted", f"granted only at {reward.granted_at.isoformat()}"
    if reward.valid_until is not None and reward.valid_until <= at:
        return "expired", f"valid until {reward.valid_until.isoformat()}"
    return None


def usable_vouchers(codes: Sequence[str], found: Mapping[str, HeldReward], member_id: str,
                    at: datetime) -> list[HeldReward]:
    """The rewards of the voucher `codes` a purchase of `member_id` at `at` presents, in
    order; refused (VoucherRefused naming every voucher that cannot be used, and why) unless
    each is the member's, held, granted and still valid at `at`, and listed once."""
    problems: list[dict[str, str]] = []
    usable: list[HeldReward] = []
    seen: set[str] = set()
    for code in codes:
        reward = found.get(code)
        problem = _problem(code, reward, member_id, at, seen)
        seen.add(code)
        if problem is not None:
            reason, words = problem
            problems.append({"voucher_code": code, "reason": reason, "message": words})
        elif reward is not None:
            usable.append(reward)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VoucherRefused(
            f"voucher {first['voucher_code']!r} cannot be used: {first['message']}{more}",
            details={"vouchers": problems})
    return usable


def taken_back(rewards: Sequence[HeldReward], lines: Sequence[SaleLine],
               returned_now: Mapping[int, int]) -> list[HeldReward]:
    """The rewards a return takes back: those it leaves none of the lines they were granted
    for (all lines when granted for the whole purchase), among the lines it brings back, and
    that no earlier return took back."""
    after = {line.line_no: (line.quantity, returned_now.get(line.line_no, line.returned))
             for line in lines}
    back: list[HeldReward] = []
    for reward in rewards:
        if reward.status == REVOKED or reward.kept_by is not None:
            continue
        own = [n for n in (reward.source_lines or after) if n in after] or list(after)
        if not any(n in returned_now for n in own):
            continue
        if all(returned >= bought for bought, returned in (after[n] for n in own)):
            back.append(reward)
    return back
