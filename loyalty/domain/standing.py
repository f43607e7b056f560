"""Where a member stands on the tier ladder: what each way up still needs, and by when.

The figures come from the decision path (the same values that move a member up at the till);
this module only compares them with the ladder's thresholds. The next tier is the one above
the member's own. It can be reached by the ladder's metric or by any of that tier's `or:`
alternatives, so there is one step per way up, the ladder's metric first. At the top of the
ladder there is a single step with no next tier and nothing needed.

`by` is the member's next tier review (None at the lowest tier, which is never reviewed):
reaching a higher tier moves the member up at once and starts a new review period, and at the
review the figures decide whether the tier is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from loyalty.domain.policy import TierLadder


@dataclass(frozen=True)
class TierStep:
    """One way to the next tier: the metric, its figure now, and what it still lacks."""

    metric: str
    now: Decimal
    next_tier: str | None
    needed: Decimal
    by: datetime | None


def tier_steps(ladder: TierLadder, tier: str, figures: Mapping[str, Decimal],
               review_at: datetime | None) -> list[TierStep]:
    """The ways from `tier` to the next tier up, given the member's figures by metric name."""
    rank = ladder.rank(tier)
    if rank + 1 >= len(ladder.levels):
        return [TierStep(ladder.metric, figures.get(ladder.metric, Decimal(0)), None,
                         Decimal(0), None)]
    level = ladder.levels[rank + 1]
    by = review_at if rank > 0 else None
    steps = []
    for name, wanted in ((ladder.metric, level.threshold), *level.alternatives):
        now = figures.get(name, Decimal(0))
        steps.append(TierStep(name, now, level.tier, max(wanted - now, Decimal(0)), by))
    return steps
