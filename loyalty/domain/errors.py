"""Domain errors: defined once here, translated to HTTP once in the api package."""

from __future__ import annotations

from typing import Any


class LoyaltyError(Exception):
    """Base of every error the service reports to a caller, with a stable machine-readable code."""

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


def fields_message(names: list[str]) -> str:
    """The message of a validation error naming the offending fields."""
    return f"The request is not valid; check these fields: {', '.join(sorted(names))}."


class ValidationFailed(LoyaltyError):
    """The request is malformed; `details` maps each offending field to its problems."""

    code = "validation_error"

    @classmethod
    def on_fields(cls, fields: dict[str, list[str]]) -> ValidationFailed:
        """The error naming each offending field with its problems."""
        return cls(fields_message(list(fields)), details={"fields": fields})


class UnknownMember(LoyaltyError):
    code = "unknown_member"


class MemberExists(LoyaltyError):
    code = "member_exists"


class MemberErased(LoyaltyError):
    """The member's personal data was erased on request: their profile is not written again."""

    code = "member_erased"


class MemberMerged(LoyaltyError):
    """The member was merged into another: nothing is written for it any more;
    `details["merged_into"]` names the member to use instead."""

    code = "member_merged"

    @classmethod
    def pointing(cls, member_id: str, merged_into: str) -> MemberMerged:
        return cls(f"member {member_id!r} was merged into {merged_into!r}: use that member",
                   details={"member_id": member_id, "merged_into": merged_into})


class UnknownToken(LoyaltyError):
    """No member token with this id was issued for the member."""

    code = "unknown_token"


class UnknownTransaction(LoyaltyError):
    code = "unknown_transaction"


class ReturnExceedsPurchase(LoyaltyError):
    code = "return_exceeds_purchase"


class IdempotencyConflict(LoyaltyError):
    code = "idempotency_conflict"


class WriteConflict(LoyaltyError):
    """A write kept breaking a uniqueness rule after retries: not a race, a real conflict."""

    code = "write_conflict"


class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"


class UnknownRelative(LoyaltyError):
    code = "unknown_relative"


class UnknownDate(LoyaltyError):
    code = "unknown_date"


class TooManyEntries(LoyaltyError):
    """A member already holds as many relatives or important dates as one member may."""

    code = "too_many_entries"


class TransferRefused(LoyaltyError):
    """A transfer of points the programme does not allow (program.yaml `transfers:`):
    `details["limit"]` names the setting, `details["allowed"]` its value."""

    code = "transfer_refused"


class OutOfStock(LoyaltyError):
    code = "out_of_stock"


class UnknownReward(LoyaltyError):
    code = "unknown_reward"


class RewardUnavailable(LoyaltyError):
    code = "reward_unavailable"


class VoucherRefused(LoyaltyError):
    """A purchase presented a voucher it cannot use; `details["vouchers"]` names each one and
    why (unknown, another member's, used, revoked, expired, not yet granted, listed twice)."""

    code = "voucher_refused"


class UnknownNotification(LoyaltyError):
    code = "unknown_notification"


class UnknownWebhook(LoyaltyError):
    code = "unknown_webhook"


class NotReplayable(LoyaltyError):
    """Only a dead letter (or one never sent) is replayed; `details["status"]` says where the
    notification is."""

    code = "not_replayable"


class RulesInvalid(LoyaltyError):
    """A rule set failed validation; `details["problems"]` lists every problem found."""

    code = "rules_invalid"


class NoActiveRules(LoyaltyError):
    code = "no_active_rules"


class UnknownRulesVersion(LoyaltyError):
    code = "unknown_rules_version"


class UnknownDraft(LoyaltyError):
    code = "unknown_draft"


class ChangeRefused(LoyaltyError):
    """A rule change refused by the workflow (a draft in the wrong state, a version that cannot
    be cancelled ...); `message` says why."""

    code = "change_refused"


class ApprovalRequired(ChangeRefused):
    """The programme asks for a second person's approval and this change has none."""

    code = "approval_required"


class OwnChange(ChangeRefused):
    """Nobody approves their own change."""

    code = "own_change"
