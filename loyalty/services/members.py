"""Enrolment and the member as the till needs it: profile, tier, points, privileges, offers."""

from __future__ import annotations

import secrets
import zlib
from datetime import datetime
from typing import Any

from loyalty.domain.commands import EnrolMember
from loyalty.domain.contact import normalise_email, normalise_phone
from loyalty.domain.decisions import RuleBook
from loyalty.domain.errors import (
    MemberExists,
    MemberMerged,
    NoActiveRules,
    UnknownMember,
    ValidationFailed,
)
from loyalty.domain.ledger import Source
from loyalty.domain.model import Occurrence
from loyalty.domain.profile import CONSENT, consent_changes, consents_of
from loyalty.services.audit import SYSTEM, Actor
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.events import react
from loyalty.services.referrals import referrer_for
from loyalty.services.standing import member_standing
from loyalty.services.sweep.base import BUCKETS
from loyalty.services.timing import iso
from loyalty.store import transfers as transfer_store
from loyalty.store.uow import SqlUnitOfWork, run_with_retry


def bucket_of(member_id: str) -> int:
    """The member's fixed bucket (0..1023), by which sweeps are split into shards."""
    return zlib.crc32(member_id.encode()) % BUCKETS


def enrol(ctx: ServiceContext, cmd: EnrolMember, actor: Actor = SYSTEM) -> Recorded:
    """Create a member; an id, e-mail or phone already known is the same person: refused.
    The consents given are kept in the member's history, given by `actor`."""
    email = normalise_email(cmd.email)
    try:
        phone = normalise_phone(cmd.phone, ctx.settings.default_region)
    except ValueError as error:
        raise ValidationFailed.on_fields({"phone": [str(error)]}) from error
    member_id = cmd.member_id or f"M-{secrets.token_hex(5).upper()}"
    consents, consented = (None, []) if cmd.consents is None \
        else consent_changes(None, cmd.consents, CONSENT)

    ctx.book()  # before the unit of work: it may read or bootstrap the rules

    def attempt() -> Recorded:
        with ctx.uow() as uow:
            taken = uow.members.conflict(member_id, email, phone)
            if taken:
                raise MemberExists(f"a member with this {taken.replace('_', ' ')} already exists",
                                   details={"field": taken})
            referrer = referrer_for(uow, cmd.referred_by, member_id, phone, email)
            now = ctx.clock()
            book = ctx.deciding(uow, now)
            enrolled_at = cmd.enrolled_at or now
            lowest = book.policy.tiers.lowest if book.policy.tiers else "member"
            uow.members.insert({
                "member_id": member_id, "name": cmd.name, "email": email, "phone": phone,
                "birth_date": cmd.birth_date, "gender": cmd.gender, "region": cmd.region,
                "enrolled_at": enrolled_at, "channel": cmd.channel,
                "attributes": dict(cmd.attributes), "tags": list(cmd.tags), "tier": lowest,
                "tier_since": enrolled_at, "vip": False, "lifecycle_stage": "new",
                "points_available": 0, "points_pending": 0, "points_debt": 0,
                "points_lifetime": 0, "lifetime_spend": 0, "lifetime_visits": 0,
                "categories": [], "created_at": now, "bucket": bucket_of(member_id),
                "consents": consents,
                "referred_by": referrer,
            })
            row = uow.members.get(member_id, lock=True)
            uow.profile.add_changes(member_id, consented, now, actor.name)
            occurrence = Occurrence(kind="enrolment", source_id=f"enrolment:{member_id}",
                                    occurred_at=enrolled_at, channel=cmd.channel)
            react(ctx, book, uow, row, occurrence, origin="enrolment",
                  stored_attributes={"tags": list(cmd.tags)}, now=now, standing=False)
            body = member_view(uow, member_id, enrolled_at, book)
            uow.commit()
            return Recorded(201, body)

    # A concurrent enrolment of the same person fails on a unique index; the retry then
    # finds the member and answers member_exists.
    return run_with_retry(attempt, retries=ctx.settings.max_retries)


def get_member(ctx: ServiceContext, member_id: str,
               as_of: datetime | None = None) -> dict[str, Any]:
    with ctx.uow(read_only=True) as uow:
        return member_view(uow, member_id, as_of or ctx.clock(), rules_in_force(ctx, uow))


def rules_in_force(ctx: ServiceContext, uow: SqlUnitOfWork) -> RuleBook | None:
    """The rules in force now, whose ladder a member's progress is measured on (None: none)."""
    try:
        return ctx.deciding(uow, ctx.clock())
    except NoActiveRules:
        return None


def member_view(uow: SqlUnitOfWork, member_id: str, as_of: datetime,
                book: RuleBook | None = None) -> dict[str, Any]:
    """Everything the till needs about a member, as of an instant, in one answer; with the
    rules in force (`book`), their progress to the next tier."""
    row = uow.members.get(member_id)
    if row is None:
        raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
    if row.merged_into is not None:
        raise MemberMerged.pointing(member_id, row.merged_into)
    account = uow.ledger.account(row, as_of=as_of)
    account.settle(as_of, Source("view", member_id, as_of))
    outlook, progress = member_standing(book, uow, row, account, as_of)
    programme = uow.programme
    return {
        "member_id": row.member_id, "name": row.name, "email": row.email, "phone": row.phone,
        "birth_date": iso(row.birth_date), "gender": row.gender, "region": row.region,
        "enrolled_at": iso(row.enrolled_at), "channel": row.channel,
        "attributes": row.attributes or {}, "tags": row.tags or [], "tier": row.tier,
        "consents": consents_of(row.consents), "erased_at": iso(row.erased_at),
        "tier_since": iso(row.tier_since), "vip": row.vip,
        "lifecycle_stage": row.lifecycle_stage, "referred_by": row.referred_by,
        "points": {
            "available": account.available, "pending": account.pending, "debt": account.debt,
            "lifetime_earned": account.lifetime, **outlook,
        },
        "value": {"current_value": row.current_value, "potential_value": row.potential_value,
                  "clv": row.clv, "segment": row.value_segment, "as_of": iso(row.value_at)},
        "tier_progress": progress,
        "privileges": [{"privilege": p.privilege,
                        "valid_until": iso(p.valid_until) if p.bounded == p.grants else None}
                       for p in programme.active_privileges(member_id, as_of)],
        "offers": [{"offer_code": o.offer_code, "benefit": o.benefit, "value": str(o.value),
                    "description": o.description, "valid_until": iso(o.valid_until)}
                   for o in programme.open_offers(member_id, as_of)],
        "rewards": [{"reward_id": r.reward_id, "quantity": r.quantity,
                     "voucher_code": r.voucher_code, "valid_until": iso(r.valid_until)}
                    for r in programme.member_rewards(member_id, as_of)],
    }


def ledger_page(ctx: ServiceContext, member_id: str, *, limit: int,
                cursor: int | None) -> dict[str, Any]:
    """Ledger entries newest first; `next_cursor` continues below the last one given."""
    with ctx.uow(read_only=True) as uow:
        if uow.members.get(member_id) is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        rows = uow.ledger.page(member_id, limit=limit + 1, cursor=cursor)
        moved = transfer_store.counterparts(
            uow.connection, (r.source_id for r in rows if r.source_type == "transfer"))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "member_id": member_id,
        "entries": [{
            "entry_id": r.entry_id, "kind": r.kind, "bucket": r.bucket, "points": r.points,
            "lot_id": r.lot_id, "source": {"type": r.source_type, "id": r.source_id},
            "rule_id": r.rule_id, "ruleset_version": r.ruleset_version, "campaign": r.campaign,
            "reason": r.reason, "occurred_at": iso(r.occurred_at),
            "recorded_at": iso(r.recorded_at), "actor": r.actor,
            "other_member_id": other_member(moved.get(r.source_id), member_id)
            if r.source_type == "transfer" else None,
        } for r in rows],
        "next_cursor": rows[-1].entry_id if more and rows else None,
    }


def other_member(parties: tuple[str, str] | None, member_id: str) -> str | None:
    """The member on the other side of a transfer."""
    if parties is None:
        return None
    giver, receiver = parties
    return receiver if giver == member_id else giver


def tier_history(ctx: ServiceContext, member_id: str) -> dict[str, Any]:
    """The tier now, when it is next reviewed, and every change with its date and reason."""
    with ctx.uow(read_only=True) as uow:
        row = uow.members.get(member_id)
        if row is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        changes = uow.programme.tier_changes(member_id)
    return {
        "member_id": member_id, "tier": row.tier, "review_at": iso(row.tier_review_at),
        "changes": [{"from_tier": c.from_tier, "to_tier": c.to_tier,
                     "changed_at": iso(c.changed_at), "reason": c.reason, "rule_id": c.rule_id,
                     "ruleset_version": c.ruleset_version} for c in changes],
    }
