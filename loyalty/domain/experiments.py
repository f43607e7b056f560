"""Control groups: which members a rule holds back, and how much more the others did.

A rule with a holdout sets aside a fixed share of the members it would act for (the control
group): they get nothing from it, and what the rule brings is the difference between the members
who got it (the offer group) and those who did not. The share is stable: the same member is in
the same group of the same rule every time, on every server, in every replay.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist

OFFER = "offer"
CONTROL = "control"
#: members are spread over this many buckets; `percent` of 100 is `percent * 100` of them
BUCKETS = 10_000
CONFIDENCE = 0.95


def bucket(rule_id: str, member_id: str) -> int:
    """A member's fixed place (0..9999) for a rule: sha256 of "<rule_id>:<member_id>"."""
    digest = hashlib.sha256(f"{rule_id}:{member_id}".encode()).hexdigest()
    return int(digest, 16) % BUCKETS


def in_control(rule_id: str, member_id: str, percent: int) -> bool:
    """Whether the member is in the rule's control group when it holds back `percent`%."""
    return bucket(rule_id, member_id) < percent * (BUCKETS // 100)


def group_of(rule_id: str, member_id: str, percent: int) -> str:
    return CONTROL if in_control(rule_id, member_id, percent) else OFFER


@dataclass(frozen=True)
class Arm:
    """What one group did: how many members were decided for, how many bought again within
    the window, and their spend in it (its total and the total of its squares)."""

    members: int
    returned: int
    spend: Decimal
    spend_squares: float

    @property
    def return_rate(self) -> float | None:
        return self.returned / self.members if self.members else None

    @property
    def spend_per_member(self) -> Decimal | None:
        return self.spend / self.members if self.members else None

    def spend_variance(self) -> float | None:
        """The sample variance of the spend per member (None under two members)."""
        n = self.members
        if n < 2:
            return None
        mean = float(self.spend) / n
        return max(0.0, (self.spend_squares - n * mean * mean) / (n - 1))


@dataclass(frozen=True)
class Interval:
    """A difference (offer minus control) with its confidence interval."""

    estimate: float
    low: float
    high: float


def z_value(confidence: float = CONFIDENCE) -> float:
    """The two-sided standard normal quantile (1.96 for 95%)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def rate_difference(offer: Arm, control: Arm, confidence: float = CONFIDENCE
                    ) -> Interval | None:
    """Difference in return rate, with its normal-approximation (Wald) interval:
    se = sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0). None when a group is empty."""
    p1, p0 = offer.return_rate, control.return_rate
    if p1 is None or p0 is None:
        return None
    se = math.sqrt(p1 * (1 - p1) / offer.members + p0 * (1 - p0) / control.members)
    half = z_value(confidence) * se
    return Interval(p1 - p0, p1 - p0 - half, p1 - p0 + half)


def spend_difference(offer: Arm, control: Arm, confidence: float = CONFIDENCE
                     ) -> Interval | None:
    """Difference in spend per member, with the Welch standard error (each group its own
    variance: se = sqrt(s1^2 / n1 + s0^2 / n0)) and a normal-approximation interval. None
    when a group has fewer than two members."""
    v1, v0 = offer.spend_variance(), control.spend_variance()
    if v1 is None or v0 is None:
        return None
    diff = float(offer.spend) / offer.members - float(control.spend) / control.members
    half = z_value(confidence) * math.sqrt(v1 / offer.members + v0 / control.members)
    return Interval(diff, diff - half, diff + half)
