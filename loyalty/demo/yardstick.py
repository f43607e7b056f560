"""What places a member on the pyramid, as a purchase adds to it: the tier ladder's metric
(spend, purchases, or a metric program.yaml declares such as nights or tonnes), and the yearly
amount of it each segment of the demo aims at, so that the top of the pyramid reaches the top
tier whatever the business counts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from loyalty.domain.policy import ProgramPolicy

Kind = Literal["money", "units", "purchases", "other"]

#: Where each segment's yearly amount lies on the ladder: between fractions of two thresholds,
#: counted from the top tier (0: the top tier's threshold, 1: the one below...).
#: (index of the lower threshold, fraction of it, index of the upper threshold, fraction of it)
TARGETS: dict[str, tuple[int, float, int, float]] = {
    "top": (0, 1.15, 0, 1.8),
    "upper": (1, 1.05, 0, 0.85),
    "regular": (-1, 0.35, -1, 1.5),
    "occasional": (-1, 0.04, -1, 0.3),
}


@dataclass(frozen=True)
class Yardstick:
    """The ladder's metric as a purchase adds to it, and the ladder's thresholds above zero."""

    kind: Kind
    categories: frozenset[str] = frozenset()  # casefolded; none: every line counts
    skus: frozenset[str] = frozenset()
    thresholds: tuple[Decimal, ...] = ()  # lowest first, those above zero

    def counts(self, sku: str, category: str) -> bool:
        """Whether a line of this product adds to the metric."""
        if not self.categories and not self.skus:
            return True
        return category.casefold() in self.categories or sku.casefold() in self.skus

    def yearly_target(self, segment: str, rng: random.Random) -> Decimal | None:
        """A yearly amount of the metric for a member of `segment` (None: the ladder gives
        none, the profile's own sizes apply)."""
        if not self.thresholds or self.kind == "other" or segment not in TARGETS:
            return None
        low_at, low_part, high_at, high_part = TARGETS[segment]
        low = self._threshold(low_at) * Decimal(str(low_part))
        high = self._threshold(high_at) * Decimal(str(high_part))
        if high < low:
            low, high = high, low
        return low + (high - low) * Decimal(str(round(rng.random(), 6)))

    def _threshold(self, index: int) -> Decimal:
        """Threshold `index` from the top (0: the top tier's); -1: the first above zero."""
        if index < 0:
            return self.thresholds[0]
        return self.thresholds[max(0, len(self.thresholds) - 1 - index)]


def yardstick(policy: ProgramPolicy) -> Yardstick:
    """The yardstick of the programme's tier ladder (kind `other` when it has none the demo
    can aim at: points, or a metric summed from events)."""
    ladder = policy.tiers
    if ladder is None:
        return Yardstick("other")
    thresholds = tuple(level.threshold for level in ladder.levels if level.threshold > 0)
    metric = ladder.metric
    if "spend" in metric or metric.startswith("points_"):
        return Yardstick("money", thresholds=thresholds)
    if "visits" in metric:
        return Yardstick("purchases", thresholds=thresholds)
    found = policy.metric_figure(metric)
    if found is None:
        return Yardstick("other")
    declared, _ = found
    kinds: dict[str, Kind] = {"units": "units", "purchases": "purchases"}
    return Yardstick(kinds.get(declared.measure, "other"),
                     frozenset(c.casefold() for c in declared.categories),
                     frozenset(s.casefold() for s in declared.skus), thresholds)
