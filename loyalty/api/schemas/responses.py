"""Response schemas: the bodies the API promises, documented in the OpenAPI document.

Bodies come from the services as JSON-ready dicts. Dumping keeps the documented fields in
their documented form and passes any further keys through unchanged, so a compatible
extension in a service never silently disappears at the edge.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump

from loyalty.api.schemas.fields import Day, Instant, Money
from loyalty.domain.contact import CHANNELS
from loyalty.domain.policy import LIFECYCLE_STAGES


class Body(Schema):
    """A response body: documented fields, plus any extra keys the service added."""

    @post_dump(pass_original=True)
    def keep_extra_keys(self, data: dict[str, Any], original: Any, **_: Any) -> dict[str, Any]:
        if isinstance(original, dict):
            for key, value in original.items():
                if key not in self.dump_fields and key not in data:
                    data[key] = value
        return data


def _nested(schema: type[Schema], **kwargs: Any) -> fields.Nested:
    return fields.Nested(schema, **kwargs)


def _list_of(schema: type[Schema], **kwargs: Any) -> fields.List:
    return fields.List(fields.Nested(schema), **kwargs)


class Error(Schema):
    """The one error shape."""

    code = fields.String(required=True, metadata={"example": "unknown_member"})
    message = fields.String(required=True)
    details = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": (
                "More about the error; for `validation_error`, `fields` maps each offending "
                "field's dotted path (e.g. `lines.0.unit_price`) to its messages."
            )
        },
    )


class Balance(Body):
    available = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    debt = fields.Integer()


class Expiry(Body):
    points = fields.Integer(required=True)
    expires_at = Instant(required=True)


class PendingRelease(Body):
    """Pending points that become available together (the end of their return window)."""

    points = fields.Integer(required=True)
    available_at = Instant(required=True)


_OUTLOOK_DOC = {
    "becoming_available": "Pending points by the instant they become available, soonest "
                          "first (at most 10 instants).",
    "expiring": "The next instants points expire at, soonest first (at most 3); "
                "`next_expiry` is the first.",
}


class MemberPoints(Body):
    available = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    debt = fields.Integer()
    lifetime_earned = fields.Integer()
    next_expiry = _nested(Expiry, allow_none=True)
    becoming_available = _list_of(PendingRelease, metadata={
        "description": _OUTLOOK_DOC["becoming_available"]})
    expiring = _list_of(Expiry, metadata={"description": _OUTLOOK_DOC["expiring"]})


class TierStep(Body):
    """One way to the next tier: the ladder's metric, or one of the next tier's `or:`."""

    metric = fields.String(required=True, metadata={"example": "spend_365d"})
    now = fields.String(required=True, metadata={
        "example": "3200.00", "description": "The metric's figure now, a decimal number."})
    next_tier = fields.String(allow_none=True, metadata={
        "example": "gold", "description": "null: the member is at the top of the ladder."})
    needed = fields.String(required=True, metadata={
        "example": "16800.00",
        "description": "What the figure still lacks for the next tier (0: nothing)."})
    by = Instant(allow_none=True, metadata={"description": (
        "The member's next tier review, when the figures decide whether the tier is kept; "
        "null at the lowest tier (never reviewed) and at the top. Reaching the next tier "
        "moves the member up at once.")})


_PROGRESS_DOC = ("Progress to the next tier, one entry per way up (the ladder's metric "
                 "first, then the next tier's `or:` alternatives); empty without a ladder.")


class PrivilegeHeld(Body):
    privilege = fields.String(required=True, metadata={"example": "priority-service"})
    valid_until = Instant(allow_none=True)


class OfferHeld(Body):
    offer_code = fields.String(required=True)
    benefit = fields.String(metadata={"example": "bonus_points"})
    value = Money()
    description = fields.String()
    valid_until = Instant(allow_none=True)


class RewardHeld(Body):
    reward_id = fields.String(required=True)
    quantity = fields.Integer()
    voucher_code = fields.String(allow_none=True)
    valid_until = Instant(allow_none=True)


class MemberValue(Body):
    """The member's value as the last sweep worked it out (every figure null until a sweep has
    valued them, and for a member who never bought)."""

    current_value = Money(allow_none=True, metadata={
        "example": "3200.00",
        "description": "Spend (or margin, program.yaml value.current) over the last "
                       "value.current_days."})
    potential_value = Money(allow_none=True, metadata={
        "example": "5400.00",
        "description": "The spend (or margin) predicted over the next value.horizon_days."})
    clv = Money(allow_none=True, metadata={
        "example": "8600.00", "description": "Lifetime value: current plus potential."})
    segment = fields.String(allow_none=True, metadata={
        "example": "grow",
        "description": "The value segment (program.yaml value.segments names the four)."})
    as_of = Instant(allow_none=True, metadata={
        "description": "The instant of the sweep that worked these figures out."})


class Member(Body):
    """A member as the till needs it."""

    member_id = fields.String(required=True, metadata={"example": "M-1001"})
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    birth_date = Day(allow_none=True)
    gender = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    enrolled_at = Instant()
    channel = fields.String(allow_none=True)
    attributes = fields.Dict(keys=fields.String())
    tags = fields.List(fields.String())
    tier = fields.String(metadata={"example": "silver"})
    tier_since = Instant(allow_none=True)
    vip = fields.Boolean()
    lifecycle_stage = fields.String(metadata={
        "example": "mature", "description": f"One of: {', '.join(LIFECYCLE_STAGES)}."})
    consents = fields.Dict(keys=fields.String(), values=fields.Boolean(), metadata={
        "description": f"Consent per channel ({', '.join(CHANNELS)}): true given.",
        "example": {channel: channel == "email" for channel in CHANNELS}})
    erased_at = Instant(allow_none=True, metadata={
        "description": "When the member's personal data was erased on request (null: never)."})
    referred_by = fields.String(allow_none=True, metadata={
        "description": "The member who brought them, if any."})
    points = _nested(MemberPoints)
    value = _nested(MemberValue)
    tier_progress = _list_of(TierStep, metadata={"description": _PROGRESS_DOC})
    privileges = _list_of(PrivilegeHeld)
    offers = _list_of(OfferHeld)
    rewards = _list_of(RewardHeld)


class Source(Body):
    type = fields.String(required=True, metadata={"example": "transaction"})
    id = fields.String(required=True)


class LedgerEntry(Body):
    entry_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"example": "earn"})
    bucket = fields.String(metadata={"example": "pending"})
    points = fields.Integer(required=True)
    lot_id = fields.Integer(allow_none=True)
    source = _nested(Source)
    rule_id = fields.String(allow_none=True)
    ruleset_version = fields.String(allow_none=True)
    campaign = fields.String(allow_none=True)
    reason = fields.String(metadata={"example": "1 point per 1 CNY spent"})
    occurred_at = Instant()
    recorded_at = Instant()
    actor = fields.String(allow_none=True, metadata={
        "description": "Who adjusted the points by hand; null for what rules decided."})
    other_member_id = fields.String(allow_none=True, metadata={
        "description": "A transfer (transfer_out, transfer_in): the member on the other "
                       "side; null for every other entry."})


class LedgerPage(Body):
    """Ledger entries, newest first; pass `next_cursor` as `cursor` for the next page."""

    member_id = fields.String(required=True)
    entries = _list_of(LedgerEntry, required=True)
    next_cursor = fields.Integer(allow_none=True)


class PointsOutcome(Body):
    earned = fields.Integer(required=True)
    pending = fields.Integer()
    clawed_back = fields.Integer()


class TierChange(Body):
    before = fields.String(allow_none=True)
    after = fields.String(allow_none=True)
    changed = fields.Boolean()


class RewardGranted(Body):
    reward_id = fields.String(required=True, metadata={"example": "ICE-MAKER"})
    rule_id = fields.String(allow_none=True, metadata={"example": "fridge-gift"})
    quantity = fields.Integer()
    voucher_code = fields.String(allow_none=True)
    valid_until = Instant(allow_none=True)


class VoucherUsed(Body):
    """A voucher the purchase presented, now used."""

    voucher_code = fields.String(required=True, metadata={"example": "3F9A0C21B7D4"})
    reward_id = fields.String(required=True, metadata={"example": "SORRY-VOUCHER"})
    quantity = fields.Integer()
    status = fields.String(metadata={"example": "used"})


class RewardTakenBack(Body):
    """A reward the returned purchase granted: revoked (`rewards_taken_back`), or, used
    already, kept (`rewards_kept`, with the purchase that used it)."""

    reward_id = fields.String(required=True, metadata={"example": "ICE-MAKER"})
    voucher_code = fields.String(allow_none=True)
    quantity = fields.Integer()
    rule_id = fields.String(allow_none=True, metadata={"example": "fridge-ice-maker"})
    used_by = fields.String(allow_none=True)


class Decision(Body):
    """One effect of one rule that fired, and why."""

    rule_id = fields.String(required=True, metadata={"example": "base-earn"})
    ruleset_version = fields.String(metadata={"example": "7"})
    effect = fields.String(required=True, metadata={"example": "award_points"})
    points = fields.Integer(allow_none=True)
    reason = fields.String(metadata={"example": "1 point per 1 CNY spent"})
    ruleset = fields.String(allow_none=True, metadata={"example": "earn"})
    campaign = fields.String(allow_none=True)
    held_out = fields.Boolean(metadata={
        "description": "True when the member is in the rule's control group (holdout): the "
                       "rule's effects (`set_aside`) were not applied; `effect` is then "
                       "`hold_out`."})
    set_aside = fields.List(fields.String(), metadata={
        "example": ["issue_offer", "add_tag"],
        "description": "A decision held out: the effects the rule would have had."})


class ReceiptBalance(Balance):
    """The balance after a write, with when pending points become available and what expires
    next."""

    next_expiry = _nested(Expiry, allow_none=True)
    becoming_available = _list_of(PendingRelease, metadata={
        "description": _OUTLOOK_DOC["becoming_available"]})
    expiring = _list_of(Expiry, metadata={"description": _OUTLOOK_DOC["expiring"]})


class NotificationQueued(Body):
    """A notification an occurrence queued, as the receipt shows it."""

    notification_id = fields.String(required=True, metadata={
        "example": "5d0c0a57-8f5e-4d8a-9a51-3f8e1c2b7a10"})
    notification = fields.String(required=True, metadata={"example": "gift-granted"})
    channel = fields.String(required=True, metadata={"example": "sms"})
    status = fields.String(required=True, metadata={"example": "pending"})
    message = fields.String(metadata={
        "example": "Your Countertop ice maker is waiting at the service desk: show voucher "
                   "3F9A0C21B7D4 by 2027-02-28."})


class _Outcome(Body):
    member_id = fields.String(required=True)
    points = _nested(PointsOutcome)
    balance = _nested(ReceiptBalance)
    tier = _nested(TierChange)
    tier_progress = _list_of(TierStep, metadata={"description": _PROGRESS_DOC})
    rewards = _list_of(RewardGranted)
    offers = fields.List(fields.Dict(keys=fields.String()))
    privileges = fields.List(fields.String(), metadata={"example": ["priority-service"]})
    decisions = _list_of(Decision)
    notifications = _list_of(NotificationQueued, metadata={"description": (
        "The notifications this queued, one per channel: `pending` (the delivery process "
        "sends it), or `suppressed` (the member has not consented to the channel).")})


class TransactionOutcome(_Outcome):
    """What a transaction did, for the till to print."""

    transaction_id = fields.String(required=True)
    returned_value = Money(metadata={"description": "A return: the value of what came back."})
    vouchers = _list_of(VoucherUsed, metadata={
        "description": "A purchase: the vouchers it presented, marked used."})
    rewards_taken_back = _list_of(RewardTakenBack, metadata={"description": (
        "A return: rewards of the purchase it leaves none of the lines they were granted for "
        "(for a reward without line conditions: the whole purchase returned), unused: "
        "revoked, and their stock given back.")})
    rewards_kept = _list_of(RewardTakenBack, metadata={"description": (
        "A return: such rewards already used; the member keeps them, and the returned-rewards "
        "report lists them.")})

    class Meta:
        fields = (
            "transaction_id", "member_id", "points", "balance", "tier", "tier_progress",
            "rewards", "offers", "privileges", "decisions", "returned_value",
            "vouchers", "rewards_taken_back", "rewards_kept", "notifications",
        )


class EventOutcome(_Outcome):
    """What an event did."""

    event_id = fields.String(required=True)
    type = fields.String(required=True)

    class Meta:
        fields = (
            "event_id", "type", "member_id", "points", "balance", "tier", "tier_progress",
            "rewards", "offers", "privileges", "decisions", "notifications",
        )


class Reward(Body):
    """A catalogue entry."""

    reward_id = fields.String(required=True, metadata={"example": "ICE-MAKER"})
    name = fields.String()
    kind = fields.String()
    description = fields.String(allow_none=True)
    points_cost = fields.Integer(allow_none=True)
    stock = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})
    stock_remaining = fields.Integer(allow_none=True)
    valid_from = Instant(allow_none=True)
    valid_until = Instant(allow_none=True)


class Catalogue(Body):
    rewards = _list_of(Reward, required=True)


class Redemption(Body):
    redemption_id = fields.String(required=True)
    member_id = fields.String(required=True)
    reward_id = fields.String(required=True)
    quantity = fields.Integer(required=True)
    points_spent = fields.Integer(required=True)
    voucher_code = fields.String(allow_none=True)
    redeemed_at = Instant()
    balance = _nested(Balance)


class Adjustment(Body):
    """Points a service desk added or removed, who did and why, and the balance after."""

    adjustment_id = fields.String(required=True)
    member_id = fields.String(required=True)
    points = fields.Integer(required=True)
    reason = fields.String(required=True)
    actor = fields.String(required=True, metadata={"example": "service-desk-3"})
    adjusted_at = Instant()
    balance = _nested(Balance)


class RulesCheck(Body):
    valid = fields.Boolean(required=True)
    problems = fields.List(fields.String(), required=True)


class FieldChange(Body):
    path = fields.String()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)
    words = fields.String()


class RuleChange(Body):
    kind = fields.String(metadata={"example": "changed"})
    section = fields.String(metadata={"example": "rule"})
    key = fields.String(metadata={"example": "weekend-double"})
    file = fields.String()
    old_file = fields.String(allow_none=True)
    fields_ = fields.List(fields.Nested(FieldChange), data_key="fields")
    words = fields.List(fields.String())


class RulesDiff(Body):
    """Two rule sets compared rule by rule, in plain words."""

    unchanged = fields.Boolean()
    files_added = fields.List(fields.String())
    files_removed = fields.List(fields.String())
    changes = _list_of(RuleChange)
    lines = fields.List(fields.String(), metadata={"example": [
        "rule weekend-double (earning.yaml) changed: then.points.multiply: 2 -> 3"]})


class VersionsDiff(RulesDiff):
    """Two versions, or a version and a draft, compared: which, and how they differ."""

    from_ = fields.String(data_key="from", attribute="from", metadata={"example": "3"})
    to = fields.String(metadata={"example": "d-1a2b3c4d"})


class RulesVersion(Body):
    """A rule set version: in force, scheduled, superseded or cancelled."""

    version = fields.Integer(required=True)
    content_hash = fields.String()
    status = fields.String(metadata={"example": "in force"})
    activated_at = Instant()
    activated_by = fields.String(allow_none=True)
    effective_at = Instant(metadata={"description": "When it takes (or took) over."})
    reason = fields.String(allow_none=True)
    draft_id = fields.String(allow_none=True)
    restores = fields.Integer(allow_none=True, metadata={
        "description": "A rollback: the version whose content it restores."})
    cancelled_at = Instant(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    active = fields.Boolean()
    changed = fields.Boolean(metadata={"description": "False: the same rules were already "
                                                      "in force, nothing was activated."})
    diff = _nested(RulesDiff)
    warnings = fields.List(fields.String())
    files = fields.Dict(keys=fields.String(), values=fields.String())


class RuleDraft(Body):
    """Proposed rule files, checked when uploaded."""

    draft_id = fields.String(metadata={"example": "d-1a2b3c4d"})
    status = fields.String(metadata={"example": "submitted"})
    author = fields.String()
    note = fields.String()
    content_hash = fields.String()
    valid = fields.Boolean()
    problems = fields.List(fields.String())
    based_on = fields.Integer(allow_none=True)
    contributors = fields.List(fields.String())
    created_at = Instant()
    updated_at = Instant()
    submitted_by = fields.String(allow_none=True)
    submitted_at = Instant(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = Instant(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)
    files = fields.List(fields.String())
    diff = _nested(RulesDiff)
    diff_against = fields.Integer(allow_none=True)


class Drafts(Body):
    drafts = _list_of(RuleDraft, required=True)


class Schedule(Body):
    scheduled = _list_of(RulesVersion, required=True)


class AuditEntry(Body):
    id = fields.Integer()
    at = Instant()
    actor = fields.String()
    actor_kind = fields.String(metadata={"example": "key"})
    action = fields.String(metadata={"example": "rules.activated"})
    subject = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    details = fields.Dict()


class AuditPage(Body):
    entries = _list_of(AuditEntry, required=True)
    next_cursor = fields.Integer(allow_none=True)


class RulesVersions(Body):
    versions = _list_of(RulesVersion, required=True)


class Explanation(Body):
    """A dry evaluation: the rules that would fire, and why, in plain language."""

    ruleset_version = fields.String(allow_none=True)
    decisions = _list_of(Decision)
    lines = fields.List(fields.String())
    notes = fields.List(fields.String(), metadata={
        "description": "rules that matched but whose per-member limit is reached, and the like"})


class BacktestTotals(Body):
    points_issued = fields.Integer(required=True)
    points_clawed_back = fields.Integer(required=True)
    net_points = fields.Integer(required=True)
    cost = fields.String(allow_none=True, metadata={"example": "1234.50"})
    rewards = fields.Integer()
    vouchers = fields.Integer()
    offers_issued = fields.Integer()
    offers_used = fields.Integer()
    redemptions_refused = fields.Integer()
    tier_changes = fields.Integer()
    held_out = fields.Integer(metadata={
        "description": "decisions set aside for a rule's control group (holdout)"})
    stock_used = fields.Dict(keys=fields.String(), values=fields.Integer())


class BacktestReport(Body):
    """What a draft would have done over a recorded period, against the rules in force."""

    period = fields.Dict(required=True)
    draft = fields.Dict(required=True)
    against = fields.Dict(required=True)
    currency = fields.String()
    point_value = fields.String(allow_none=True, metadata={"example": "0.01"})
    occurrences = fields.Dict(keys=fields.String(), values=fields.Integer())
    totals = fields.Dict(keys=fields.String(), values=fields.Nested(BacktestTotals))
    differing_decisions = fields.Integer(required=True, metadata={
        "description": "occurrences whose decisions differ between the draft and the rules "
                       "compared with"})
    points_difference = fields.Integer(required=True)
    cost_difference = fields.String(allow_none=True, metadata={"example": "120.00"})
    per_rule = fields.List(fields.Dict())
    per_tier = fields.List(fields.Dict())
    per_day = fields.List(fields.Dict())
    tier_differences = fields.Dict()
    members_most_affected = fields.List(fields.Dict())
    samples = fields.List(fields.Dict())
    replay_check = fields.Dict(allow_none=True, metadata={
        "description": "replaying the rules in force against the recorded ledger"})
    notes = fields.List(fields.String())


class SweepReport(Body):
    as_of = fields.String(required=True)
    shard = fields.String(required=True, metadata={"example": "1/1"})
    ruleset_version = fields.String()
    phases = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String()))


class TierCount(Body):
    tier = fields.String(required=True)
    members = fields.Integer(required=True)


class Overview(Body):
    members = fields.Integer(required=True)
    vip = fields.Integer(required=True)
    pyramid = _list_of(TierCount)
    lifecycle = fields.Dict(keys=fields.String(), values=fields.Integer())


class WinbackOffer(Body):
    offer_code = fields.String(required=True)
    campaign = fields.String(allow_none=True)
    issued = fields.Integer()
    used = fields.Integer()
    members_offered = fields.Integer()
    members_won_back = fields.Integer()
    spend_since_use = Money()
    use_rate = fields.Float()


class WinbackReport(Body):
    offers = _list_of(WinbackOffer)


class ReturnedReward(Body):
    """A reward whose purchase came back: revoked, or kept because it was used already."""

    member_id = fields.String(required=True)
    reward_id = fields.String(required=True, metadata={"example": "ICE-MAKER"})
    quantity = fields.Integer()
    voucher_code = fields.String(allow_none=True)
    outcome = fields.String(required=True, metadata={
        "example": "kept", "description": "`revoked` (it was unused) or `kept` (used already)"})
    purchase_id = fields.String(required=True, metadata={"description": "The purchase that "
                                                           "granted it."})
    return_id = fields.String(required=True)
    returned_at = Instant(required=True)
    used_by = fields.String(allow_none=True, metadata={"description": "A kept reward: the "
                                                         "purchase that used it."})
    rule_id = fields.String(allow_none=True)
    campaign = fields.String(allow_none=True)


class ReturnedRewardCount(Body):
    reward_id = fields.String(required=True)
    revoked = fields.Integer(required=True)
    kept = fields.Integer(required=True)


class ReturnedRewardsReport(Body):
    totals = _list_of(ReturnedRewardCount, required=True)
    rewards = _list_of(ReturnedReward, required=True)


class TierMove(Body):
    from_tier = fields.String(allow_none=True)
    to_tier = fields.String(required=True)
    changed_at = Instant(required=True)
    reason = fields.String(required=True)
    rule_id = fields.String(allow_none=True)
    ruleset_version = fields.String(allow_none=True)


class TierHistory(Body):
    member_id = fields.String(required=True)
    tier = fields.String(required=True)
    review_at = Instant(allow_none=True)
    changes = _list_of(TierMove, required=True)
