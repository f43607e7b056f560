"""Programme policy declared in the rule files: points timing, tiers, lifecycle, VIP, catalogue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from loyalty.domain.catalogue import Catalogue
from loyalty.domain.messages import MessageTemplate

#: The lifecycle stages the daily sweep puts members in (see services/sweep/lifecycle.py).
LIFECYCLE_STAGES = ("new", "dormant", "growing", "mature", "declining", "lapsed", "churned")
#: Stages no longer given, and the stages that took their place: `active` became `growing`
#: (buying more than their own usual) and `mature` (buying as usual).
RETIRED_STAGES = {"active": ("growing", "mature")}
#: The channels of a programme that does not list its own in program.yaml.
DEFAULT_CHANNELS = ("store", "web", "app", "phone", "desk")
#: The types an event attribute may be declared with.
ATTRIBUTE_TYPES = ("number", "money", "word", "yes/no", "date", "list")


@dataclass(frozen=True)
class PointsPolicy:
    """When earned points become available and when they expire; what a shortfall becomes.

    expiry: `never`; `months_after_earning` (expire `expiry_months` after the purchase);
    `end_of_month` (at the end of the month `expiry_months` after the purchase);
    `extended_by_activity` (all points expire `expiry_months` after the last purchase).
    shortfall: `debt` (a clawback that finds too few points leaves a debt that later
    earnings repay) or `floor` (the balance stops at zero and the waived points are recorded).
    """

    pending_days: int = 0
    expiry: Literal["never", "months_after_earning", "end_of_month", "extended_by_activity"] = (
        "never"
    )
    expiry_months: int = 12
    shortfall: Literal["debt", "floor"] = "debt"


@dataclass(frozen=True)
class TierLevel:
    """A tier and the value of the ladder's metric that reaches it; `alternatives` (`or:`) are
    other metrics and their thresholds, any one of which reaches the tier too."""

    tier: str
    threshold: Decimal
    description: str = ""
    alternatives: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True)
class TierLadder:
    """Tiers from lowest to highest; a member holds the highest tier whose threshold they reach."""

    metric: str
    levels: tuple[TierLevel, ...]
    requalification: Literal["anniversary", "calendar_year"] = "anniversary"
    grace_days: int = 0
    downgrade: Literal["one_step", "recalculate"] = "one_step"
    notice_days: int = 0

    @property
    def lowest(self) -> str:
        return self.levels[0].tier

    def rank(self, tier: str) -> int:
        for index, level in enumerate(self.levels):
            if level.tier == tier:
                return index
        return -1

    @property
    def metrics(self) -> tuple[str, ...]:
        """The ladder's metric, then every other metric a level names under `or:`."""
        names = [self.metric]
        for level in self.levels:
            names.extend(name for name, _ in level.alternatives if name not in names)
        return tuple(names)

    def figures(self, value: Decimal | Mapping[str, Decimal]) -> Mapping[str, Decimal]:
        """The member's figures by metric name: a bare value is the ladder's metric."""
        return {self.metric: value} if isinstance(value, Decimal) else value

    def reached_by(self, level: TierLevel,
                   value: Decimal | Mapping[str, Decimal]) -> tuple[str, Decimal] | None:
        """The first metric (the ladder's, then those of `or:`) whose figure reaches `level`."""
        figures = self.figures(value)
        for name, wanted in ((self.metric, level.threshold), *level.alternatives):
            figure = figures.get(name, Decimal(0))
            if figure >= wanted:
                return name, figure
        return None

    def reaches(self, tier: str, value: Decimal | Mapping[str, Decimal]) -> bool:
        """Whether the figures hold `tier`: its threshold, or one of its `or:` thresholds."""
        return self.reached_by(self.levels[self.rank(tier)], value) is not None

    def qualifying_tier(self, value: Decimal | Mapping[str, Decimal]) -> str:
        best = self.levels[0].tier
        for level in self.levels:
            if self.reached_by(level, value) is not None:
                best = level.tier
        return best


@dataclass(frozen=True)
class LifecyclePolicy:
    """Stage thresholds from recency (days since last purchase), frequency and tenure.

    A member with at least `visits_drop_min_365d` purchases over the last 365 days who made
    fewer than (100 - `visits_drop_percent`)% of the purchases that pace predicts for the last
    90 days is declining too; `visits_drop_percent` 0 turns this off.

    Everyone else is growing or mature: growing when their `growing_measure` (spend, or
    visits) over the last `growing_days` is at least `growing_percent`% above their own
    average per period of that length over the `growing_history_days` before it (or over
    their membership before it, when shorter, and never less than one period); mature
    otherwise. A member who bought nothing before the last `growing_days` is growing.
    """

    new_days: int = 30
    declining_days: int = 60
    lapsed_days: int = 90
    churned_days: int = 365
    visits_drop_percent: int = 0
    visits_drop_min_365d: int = 4
    growing_days: int = 90
    growing_history_days: int = 365
    growing_percent: int = 20
    growing_measure: Literal["spend", "visits"] = "spend"


@dataclass(frozen=True)
class VipPolicy:
    """Who is VIP: the top `top_percent` of members by `metric`, and/or above `min_value`, and
    every member carrying one of `tags` whatever their rank or tier. A VIP leaves only once
    their metric falls more than `leave_margin_percent` below the threshold that admits."""

    metric: str = "spend_365d"
    top_percent: Decimal | None = None
    min_value: Decimal | None = None
    tiers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    leave_margin_percent: int = 0


#: The four value quadrants, by current value and predicted potential (high or low each).
VALUE_QUADRANTS = ("keep", "grow", "maintain", "reduce_cost")


@dataclass(frozen=True)
class ValueSegments:
    """What marketing calls each value quadrant: keep (high now, high to come), grow (low now,
    high to come), maintain (high now, low to come), reduce_cost (low and low)."""

    keep: str = "keep"
    grow: str = "grow"
    maintain: str = "maintain"
    reduce_cost: str = "reduce-cost"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(getattr(self, quadrant) for quadrant in VALUE_QUADRANTS)


@dataclass(frozen=True)
class ValuePolicy:
    """How the sweep values members (`value:`): current value is spend (or margin, spend x
    `margin_percent` / 100) over the last `current_days`; potential value the spend (or margin)
    the purchase and spend models predict over the next `horizon_days`; the top
    `high_current_percent` by current value and the top `high_potential_percent` by potential
    are high. The models are fitted on at most `sample_size` members each sweep."""

    current: Literal["spend", "margin"] = "spend"
    margin_percent: Decimal = Decimal(25)
    current_days: int = 365
    horizon_days: int = 365
    high_current_percent: Decimal = Decimal(20)
    high_potential_percent: Decimal = Decimal(20)
    segments: ValueSegments = field(default_factory=ValueSegments)
    sample_size: int = 50_000


@dataclass(frozen=True)
class ReferralPolicy:
    """When a referred friend's purchase rewards the referrer (`referrals:`): the first
    purchase of at least `min_purchase`, made within `within_days` of the friend's enrolment
    (None: whenever). Once per friend, ever."""

    min_purchase: Decimal = Decimal("0")
    within_days: int | None = None


@dataclass(frozen=True)
class TransferPolicy:
    """Whether and how much members may give one another of their available points
    (`transfers:`): from `min_points` to `max_points` a transfer, at most `max_per_month`
    transfers sent by one member a calendar month (None: no such limit)."""

    allowed: bool = False
    min_points: int = 1
    max_points: int | None = None
    max_per_month: int | None = None


@dataclass(frozen=True)
class ImportantDatesPolicy:
    """How far ahead the sweep raises `important_date` for the days members record
    (`important_dates:`): `remind_days_before` days before each, 0 on the day itself."""

    remind_days_before: int = 7


@dataclass(frozen=True)
class RewardDef:
    """A catalogue entry: redeemable when it has a `points_cost`, else a gift rules grant."""

    reward_id: str
    name: str
    kind: str = "product"
    points_cost: int | None = None
    stock: int | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    description: str = ""


@dataclass(frozen=True)
class AttributeDef:
    """A detail an event carries: its name, its type, and for a word the words it may be."""

    name: str
    type: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventDef:
    """A type of event and the attributes it carries."""

    event_type: str
    attributes: tuple[AttributeDef, ...] = ()

    def attribute(self, name: str) -> AttributeDef | None:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None


#: The periods a declared metric is counted over: the suffix of each figure's name and its days
#: before the instant (None: since enrolment).
METRIC_PERIODS: dict[str, int | None] = {"30d": 30, "90d": 90, "365d": 365, "lifetime": None}


@dataclass(frozen=True)
class MetricDef:
    """A figure program.yaml declares under `metrics:`, counted over each of METRIC_PERIODS.

    measure `units`: units (line.quantity) of the purchase lines that match, less those
    returned; `purchases`: purchases with a matching line, less those whose matching units were
    all returned; `attribute`: the sum of the number or money `attribute` of events of type
    `event`. A line matches by its category or its product code, without regard to case; with
    neither listed, every line matches.
    """

    name: str
    measure: Literal["units", "purchases", "attribute"]
    description: str = ""
    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    event: str = ""
    attribute: str = ""
    #: the attribute's declared type (number or money), for `attribute`
    attribute_type: str = ""

    @property
    def figures(self) -> tuple[str, ...]:
        """The names of its figures: `<name>_30d` ... `<name>_lifetime`."""
        return tuple(f"{self.name}_{period}" for period in METRIC_PERIODS)

    @property
    def fact_type(self) -> str:
        """How rules compare its figures: whole numbers, money, or numbers."""
        if self.measure != "attribute":
            return "integer"
        return "money" if self.attribute_type == "money" else "number"


def figure_of(metrics: Iterable[MetricDef], name: str) -> tuple[MetricDef, str] | None:
    """The metric and the period (a key of METRIC_PERIODS) a figure name such as `nights_365d`
    stands for; None when it names none of `metrics`."""
    for metric in metrics:
        prefix = f"{metric.name}_"
        if name.startswith(prefix) and name[len(prefix):] in METRIC_PERIODS:
            return metric, name[len(prefix):]
    return None


@dataclass(frozen=True)
class ProgramPolicy:
    """What program.yaml and rewards.yaml declare; `stores` None means any store."""

    currency: str = "CNY"
    #: what one point costs the business, in `currency` (None: not declared)
    point_value: Decimal | None = None
    points: PointsPolicy = field(default_factory=PointsPolicy)
    tiers: TierLadder | None = None
    lifecycle: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    vip: VipPolicy = field(default_factory=VipPolicy)
    #: how the sweep values members and names the value quadrants (`value:`)
    value: ValuePolicy = field(default_factory=ValuePolicy)
    rewards: tuple[RewardDef, ...] = ()
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    stores: tuple[str, ...] | None = None
    events: tuple[EventDef, ...] = ()
    #: whether program.yaml has an `events:` block; a programme written before attributes
    #: were declared has none, and its tills' attributes stay free-form (unchecked)
    declares_events: bool = False
    #: whether a new rules version needs a second person's approval (`activation.approval`)
    approval_required: bool = False
    #: the figures program.yaml declares under `metrics:` (tiers, VIP and rules may use them)
    metrics: tuple[MetricDef, ...] = ()
    #: the products the business sells (catalogue.yaml); None when the folder has none
    catalogue: Catalogue | None = None
    #: how far ahead members are reminded of their relatives' birthdays and other dates
    important_dates: ImportantDatesPolicy = field(default_factory=ImportantDatesPolicy)
    #: when a referred friend's purchase rewards the referrer (`referrals:`)
    referrals: ReferralPolicy = field(default_factory=ReferralPolicy)
    #: points members may give one another (`transfers:`); not allowed unless declared
    transfers: TransferPolicy = field(default_factory=TransferPolicy)
    #: the texts notifications are rendered from (templates.yaml); none without that file
    templates: tuple[MessageTemplate, ...] = ()

    def template(self, name: str) -> MessageTemplate | None:
        """The template of templates.yaml named `name`, None when there is none."""
        return next((found for found in self.templates if found.name == name), None)

    def metric_figure(self, name: str) -> tuple[MetricDef, str] | None:
        """The declared metric and the period a figure name such as `nights_365d` stands for;
        None when it names none."""
        return figure_of(self.metrics, name)

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(level.tier for level in self.tiers.levels) if self.tiers else ()

    def declared_event(self, event_type: str) -> EventDef | None:
        """The event type as program.yaml declares it, None when it does not."""
        for event in self.events:
            if event.event_type == event_type:
                return event
        return None

    def reward(self, reward_id: str) -> RewardDef | None:
        for reward in self.rewards:
            if reward.reward_id == reward_id:
                return reward
        return None
