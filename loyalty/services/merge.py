"""Merging a duplicate member into the member who survives: points and lots move by ledger
entries, history and holdings follow the person, contact details stay findable, and the
duplicate's id is left pointing at the survivor. All of it happens, or none of it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from loyalty.domain.decisions import RuleBook
from loyalty.domain.errors import (
    IdempotencyConflict,
    MemberErased,
    MemberMerged,
    UnknownMember,
    ValidationFailed,
)
from loyalty.domain.ledger import MERGE_RULE, Holdings, Source
from loyalty.domain.merge import (
    ALIAS_PREFIX,
    EMPTIED,
    MergeMembers,
    ProfileMerge,
    combined_figures,
    higher_tier,
    merge_profile,
)
from loyalty.domain.profile import history_value
from loyalty.services import audit
from loyalty.services.audit import Actor
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.notices import system_notice
from loyalty.services.profile import record_change
from loyalty.services.receipt import balance_view, save_account
from loyalty.services.timing import iso
from loyalty.store import notifications
from loyalty.store.merges import MergeRepository
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

log = logging.getLogger(__name__)

SCOPE = "merge"
MERGE_SOURCE = "merge"  # `member_changes.source` of what a merge changed


def merge_members(ctx: ServiceContext, cmd: MergeMembers, actor: Actor) -> Recorded:
    """Fold `cmd.duplicate_id` into `cmd.member_id` once; the same merge_id replays."""
    reason = audit.require_reason(cmd.reason, "a merge")
    if cmd.duplicate_id == cmd.member_id:
        raise ValidationFailed.on_fields(
            {"duplicate_id": ["A member cannot be merged into itself."]})
    ctx.book()  # before the unit of work: it may read or bootstrap the rules

    def attempt() -> Recorded:
        with ctx.uow() as uow:
            survivor, duplicate = _lock(uow, cmd.member_id, cmd.duplicate_id)
            prior = uow.idempotency.get(SCOPE, cmd.merge_id)
            if prior is not None:
                if prior.fingerprint != cmd.fingerprint or prior.member_id != cmd.member_id:
                    raise IdempotencyConflict(
                        f"merge {cmd.merge_id!r} was already recorded with a different body",
                        details={"key": cmd.merge_id})
                return Recorded(prior.status_code, dict(prior.response), replayed=True)
            _check(cmd, survivor, duplicate)
            now = ctx.clock()
            body = _fold(ctx.deciding(uow, now), uow, survivor, duplicate, cmd, reason,
                         actor, now)
            audit.record(uow, actor, "member.merged", now, subject=cmd.member_id,
                         reason=reason, details={
                             "merge_id": cmd.merge_id, "duplicate_id": cmd.duplicate_id,
                             "points": body["moved"]["points"],
                             "identifiers": body["identifiers"]})
            uow.idempotency.put(SCOPE, cmd.merge_id, member_id=cmd.member_id,
                                fingerprint=cmd.fingerprint, status=201, response=body,
                                created_at=now)
            uow.commit()
            log.info("member %s merged into %s (%s)", cmd.duplicate_id, cmd.member_id,
                     cmd.merge_id)
            return Recorded(201, body)

    return run_with_retry(attempt, retries=ctx.settings.max_retries)


def _lock(uow: SqlUnitOfWork, survivor_id: str, duplicate_id: str) -> tuple[Any, Any]:
    """Both members' rows, locked in member-id order (as every write locking two does)."""
    rows = {member_id: uow.members.get(member_id, lock=True)
            for member_id in sorted((survivor_id, duplicate_id))}
    return rows[survivor_id], rows[duplicate_id]


def _check(cmd: MergeMembers, survivor: Any, duplicate: Any) -> None:
    for member_id, row in ((cmd.member_id, survivor), (cmd.duplicate_id, duplicate)):
        if row is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
    if duplicate.merged_into is not None:
        raise MemberMerged(
            f"member {duplicate.member_id!r} was already merged into "
            f"{duplicate.merged_into!r}",
            details={"member_id": duplicate.member_id, "merged_into": duplicate.merged_into})
    if survivor.merged_into is not None:
        raise MemberMerged(
            f"member {survivor.member_id!r} was itself merged into {survivor.merged_into!r}: "
            "merge into that member instead",
            details={"member_id": survivor.member_id, "merged_into": survivor.merged_into})
    for row in (survivor, duplicate):
        if row.erased_at is not None:  # its contact details must not land on anyone
            raise MemberErased(
                f"member {row.member_id!r} was erased on request: it is not merged",
                details={"member_id": row.member_id})


def _fold(book: RuleBook, uow: SqlUnitOfWork, survivor: Any, duplicate: Any,
          cmd: MergeMembers, reason: str, actor: Actor, now: datetime) -> dict[str, Any]:
    """Move everything of the locked duplicate to the locked survivor; the answer."""
    held, account = _move_points(uow, survivor, duplicate, cmd, reason, actor, now)
    survivor_values = dict(survivor._mapping)
    duplicate_values = dict(duplicate._mapping)
    profile = merge_profile(survivor_values, duplicate_values)
    tier_values = _tier(book, uow, survivor, duplicate, cmd, now)
    store = MergeRepository(uow.connection)
    moved = store.move_rows(cmd.duplicate_id, cmd.member_id)
    usage = store.merge_usage(cmd.duplicate_id, cmd.member_id)
    store.repoint(cmd.duplicate_id, cmd.member_id)
    # the duplicate lets go of its identifiers before the survivor takes them (unique indexes)
    store.mark_merged(cmd.duplicate_id, cmd.member_id, now, **EMPTIED,
                      **{field: None for field in profile.cleared})
    store.add_aliases({"field": field, "value": value, "member_id": cmd.member_id,
                       "merged_from": cmd.duplicate_id, "merge_id": cmd.merge_id,
                       "created_at": now} for field, value in profile.aliases)
    save_account(uow, account, now, **combined_figures(survivor_values, duplicate_values),
                 **profile.taken, **tier_values)
    _record_changes(uow, cmd, profile, duplicate_values, actor, now)
    tier_after = tier_values.get("tier", survivor.tier)
    return {
        "merge_id": cmd.merge_id, "member_id": cmd.member_id,
        "duplicate_id": cmd.duplicate_id, "reason": reason, "actor": actor.name,
        "merged_at": iso(now),
        "moved": {
            "points": {"available": held.available, "pending": held.pending,
                       "debt": held.debt, "lifetime": held.lifetime},
            "lots": len(held.lots), "rows": {**moved, "rule_usage": usage},
        },
        "identifiers": {"moved": sorted(f for f in profile.taken if f in profile.cleared),
                        "aliases": sorted(field for field, _ in profile.aliases)},
        "profile_filled": sorted(f for f in profile.taken if f not in profile.cleared),
        "tier": {"before": survivor.tier, "after": tier_after,
                 "changed": tier_after != survivor.tier},
        "balance": balance_view(account),
    }


def _move_points(uow: SqlUnitOfWork, survivor: Any, duplicate: Any, cmd: MergeMembers,
                 reason: str, actor: Actor, now: datetime) -> tuple[Holdings, Any]:
    """Settle both accounts at `now`, then move the duplicate's lots, debt and lifetime
    points to the survivor by `merge_out`/`merge_in` entries; the survivor's account."""
    source = Source(SCOPE, cmd.merge_id, now, rule_id=MERGE_RULE, actor=actor.name)
    gone = uow.ledger.account(duplicate)  # every open lot: all of them move
    gone.settle(now, source)
    account = uow.ledger.account(survivor, as_of=now)
    account.settle(now, source)
    held = gone.hand_over("merge_out", f"merged into member {cmd.member_id}: {reason}", source)
    account.take_over(held, "merge_in", f"merged from member {cmd.duplicate_id}: {reason}",
                      source)
    save_account(uow, gone, now)
    return held, account


def _tier(book: RuleBook, uow: SqlUnitOfWork, survivor: Any, duplicate: Any,
          cmd: MergeMembers, now: datetime) -> dict[str, Any]:
    """The person keeps the higher of the two tiers (and VIP if either was): the member
    values to write, with the tier change recorded when the survivor's tier rises."""
    values: dict[str, Any] = {}
    notices: list[dict[str, Any]] = []

    def notice(kind: str, message: str, payload: dict[str, Any]) -> None:
        notices.append(system_notice(cmd.member_id, kind, message, payload, at=now,
                                     source_id=cmd.merge_id, rule_id=MERGE_RULE,
                                     ruleset_version=book.version))

    if duplicate.vip and not survivor.vip:
        values.update(vip=True, vip_since=duplicate.vip_since)
        notice("vip_changed", "joined the VIPs", {"vip": True, "at": now,
                                                  "merged_from": cmd.duplicate_id})
    tier = higher_tier(book.policy.tier_names, survivor.tier, duplicate.tier)
    if tier != survivor.tier:
        reason = f"merged with member {cmd.duplicate_id}, who held {tier}"
        uow.programme.add_tier_change({
            "member_id": cmd.member_id, "from_tier": survivor.tier, "to_tier": tier,
            "changed_at": now, "reason": reason, "source_id": cmd.merge_id,
            "rule_id": MERGE_RULE, "ruleset_version": book.version,
        })
        notice("tier_changed", f"tier {survivor.tier} -> {tier}",
               {"from": survivor.tier, "to": tier, "reason": reason, "changed_at": now})
    # the business's systems learn of a status the merge gave, as of one the rules gave
    notifications.queue(uow.connection, notices, now)
    if tier == survivor.tier:
        return values
    values.update(tier=tier, tier_since=duplicate.tier_since,
                  tier_review_at=duplicate.tier_review_at,
                  tier_notice_for=duplicate.tier_notice_for)
    return values


def _record_changes(uow: SqlUnitOfWork, cmd: MergeMembers, profile: ProfileMerge,
                    duplicate: dict[str, Any], actor: Actor, now: datetime) -> None:
    """Every identifier and profile field the merge moved, in both members' histories."""
    def change(member_id: str, field: str, old: Any, new: Any) -> None:
        record_change(uow, member_id, field, history_value(old), history_value(new), now,
                      actor.name, MERGE_SOURCE)

    for field in profile.cleared:
        change(cmd.duplicate_id, field, duplicate[field], None)
    for field, value in profile.taken.items():
        change(cmd.member_id, field, None, value)
    for field, value in profile.aliases:
        change(cmd.member_id, ALIAS_PREFIX + field, None, value)
    change(cmd.duplicate_id, "merged_into", None, cmd.member_id)
