"""Whether a member is VIP as of an instant, given their metric and the thresholds that admit.

Joining takes the full threshold: the rank threshold (`top_percent`) or `min_value`, whichever
is lower. A member who is already VIP stays until their metric falls more than
`leave_margin_percent` below that threshold, so a member sitting at the threshold is not
dropped and welcomed again from one sweep to the next. The margin is about the metric only: a
member outside the eligible tiers, or whose metric is zero, is not VIP (unless tagged) at once.
"""

from __future__ import annotations

from decimal import Decimal

from loyalty.domain.policy import VipPolicy

HUNDRED = Decimal(100)


def admitting_threshold(policy: VipPolicy, rank_threshold: Decimal | None) -> Decimal | None:
    """The lowest metric that makes a member VIP: the rank threshold or `min_value`, whichever
    is lower; None when neither applies."""
    candidates = [v for v in (rank_threshold, policy.min_value) if v is not None]
    return min(candidates) if candidates else None


def keeping_threshold(policy: VipPolicy, rank_threshold: Decimal | None) -> Decimal | None:
    """The lowest metric at which a member who is VIP stays VIP: the admitting threshold less
    `leave_margin_percent` of it."""
    admits = admitting_threshold(policy, rank_threshold)
    if admits is None:
        return None
    return admits * (HUNDRED - Decimal(policy.leave_margin_percent)) / HUNDRED


def is_vip(policy: VipPolicy, *, value: Decimal, rank_threshold: Decimal | None,
           eligible: bool, tagged: bool, was_vip: bool) -> bool:
    """VIP as of now: tagged, or eligible with a metric above zero that reaches the admitting
    threshold (a member not yet VIP) or the keeping threshold (a member already VIP)."""
    if tagged:
        return True
    if not eligible or value <= 0:
        return False
    needed = (keeping_threshold if was_vip else admitting_threshold)(policy, rank_threshold)
    return needed is not None and value >= needed
