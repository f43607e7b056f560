"""Effects a rule can have, and the decisions the rule engine hands back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from loyalty.domain.history import HistoryNeeds
from loyalty.domain.model import EvaluationInput
from loyalty.domain.policy import ProgramPolicy

Period = Literal["ever", "day", "month", "year"]


@dataclass(frozen=True)
class AwardPoints:
    """A fixed number of points, a rate of points per currency unit spent, or points for every
    unit bought (`per_unit`).

    With `lines_only`, the rate applies to the amount, and `per_unit` to the units, of the lines
    the rule matched.
    """

    fixed: int | None = None
    rate: Decimal | None = None
    lines_only: bool = False
    per_unit: Decimal | None = None


@dataclass(frozen=True)
class MultiplyPoints:
    """Extra points: (factor - 1) times the points awarded by the named rules (all when empty).

    With `lines_only`, only what those awards earned on the lines the rule matched counts: each
    line's share of an award per currency unit or per unit; a fixed award has no lines.
    """

    factor: Decimal
    rules: tuple[str, ...] = ()
    lines_only: bool = False


@dataclass(frozen=True)
class GrantReward:
    reward_id: str
    quantity: int = 1
    valid_days: int | None = None


@dataclass(frozen=True)
class IssueOffer:
    """A time-limited offer; `benefit` is `bonus_points` or `points_multiplier` on next purchase."""

    offer_id: str
    benefit: Literal["bonus_points", "points_multiplier"]
    value: Decimal
    valid_days: int
    description: str = ""


@dataclass(frozen=True)
class GrantPrivilege:
    privilege: str
    valid_days: int | None = None


@dataclass(frozen=True)
class RevokePrivilege:
    privilege: str


@dataclass(frozen=True)
class SetTier:
    tier: str


@dataclass(frozen=True)
class AddTag:
    tag: str


@dataclass(frozen=True)
class RemoveTag:
    tag: str


@dataclass(frozen=True)
class Notify:
    notification: str
    message: str = ""
    #: a template of templates.yaml (instead of `message`), and the channels to send on
    #: (none: the template's channels; without a template, the `system` channel)
    template: str | None = None
    channels: tuple[str, ...] = ()


Effect = (
    AwardPoints
    | MultiplyPoints
    | GrantReward
    | IssueOffer
    | GrantPrivilege
    | RevokePrivilege
    | SetTier
    | AddTag
    | RemoveTag
    | Notify
)

EFFECT_NAMES: dict[type, str] = {
    AwardPoints: "award_points",
    MultiplyPoints: "multiply_points",
    GrantReward: "grant_reward",
    IssueOffer: "issue_offer",
    GrantPrivilege: "grant_privilege",
    RevokePrivilege: "revoke_privilege",
    SetTier: "set_tier",
    AddTag: "add_tag",
    RemoveTag: "remove_tag",
    Notify: "notify",
}


@dataclass(frozen=True)
class Limit:
    """How often a rule may apply: `times` per member per `period`, and/or a points budget."""

    times: int | None = None
    period: Period = "ever"
    budget_points: int | None = None


@dataclass(frozen=True)
class Holdout:
    """A control group: `percent` of the members a rule would act for get nothing, so that what
    the rule brings can be measured against them; a purchase within `within_days` of the
    decision counts as coming back."""

    percent: int
    within_days: int


@dataclass(frozen=True)
class Decision:
    """One effect of one rule that fired, in the order it applies."""

    rule_id: str
    ruleset: str
    ruleset_version: str
    effect: Effect
    reason: str
    priority: int
    order: int
    campaign: str | None = None
    limit: Limit | None = None
    matched_lines: tuple[int, ...] = ()
    holdout: Holdout | None = None

    @property
    def effect_name(self) -> str:
        return EFFECT_NAMES[type(self.effect)]


class RuleBook(Protocol):
    """An activated, compiled rule set: policy plus a matcher. Built by the engine package."""

    version: str
    content_hash: str

    @property
    def policy(self) -> ProgramPolicy: ...

    def evaluate(self, data: EvaluationInput) -> list[Decision]:
        """Return the decisions of every rule the snapshot matches, in application order."""
        ...

    def history_needs(self, event_type: str) -> HistoryNeeds:
        """What the rules reacting to `event_type` test of the member's history."""
        ...

