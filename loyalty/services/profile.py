"""A member's profile after enrolment: changing it, finding a member by phone or e-mail, the
history of every change, consent per channel, and erasing personal data on request."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from loyalty.domain import profile as domain
from loyalty.domain.contact import normalise_email, normalise_phone
from loyalty.domain.errors import MemberErased, MemberExists, UnknownMember, ValidationFailed
from loyalty.domain.profile import Change, Profile
from loyalty.services import audit, members
from loyalty.services.audit import Actor
from loyalty.services.context import ServiceContext
from loyalty.services.idempotent import lock_for_write, refuse_merged
from loyalty.services.relations import forget_relations
from loyalty.services.timing import iso
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

log = logging.getLogger(__name__)

MAX_PAGE = 200


def record_change(uow: SqlUnitOfWork, member_id: str, field: str, old: Any, new: Any,
                  at: datetime, actor: Actor | str, source: str) -> None:
    """Keep one change to a member's profile in their history (inside the caller's
    transaction); `old` and `new` are JSON values."""
    uow.profile.add_changes(member_id, [Change(field, old, new, source)], at, str(actor))


def profile_of(row: Row[Any]) -> Profile:
    return Profile(name=row.name, email=row.email, phone=row.phone, birth_date=row.birth_date,
                   gender=row.gender, region=row.region, attributes=dict(row.attributes or {}),
                   tags=tuple(row.tags or ()), consents=dict(row.consents or {}))


def canonical(ctx: ServiceContext, given: Mapping[str, Any]) -> dict[str, Any]:
    """The edit with its e-mail address and phone number in the form enrolment stores."""
    edit = dict(given)
    if "email" in edit:
        edit["email"] = normalise_email(edit["email"])
    if "phone" in edit:
        try:
            edit["phone"] = normalise_phone(edit["phone"], ctx.settings.default_region)
        except ValueError as error:
            raise ValidationFailed.on_fields({"phone": [str(error)]}) from error
    for name in ("name", "gender", "region"):
        if name in edit and isinstance(edit[name], str) and not edit[name].strip():
            edit[name] = None
    return edit


def change_profile(ctx: ServiceContext, member_id: str, given: Mapping[str, Any],
                   actor: Actor) -> dict[str, Any]:
    """Change what `given` names of the member's profile, keeping each change in their
    history; a phone or e-mail another member has is refused (409 member_exists)."""
    edit = canonical(ctx, given)

    def attempt() -> None:
        with ctx.uow() as uow:
            [row] = lock_for_write(uow, member_id)
            if row.erased_at is not None:
                raise MemberErased(
                    f"member {member_id!r} asked for their personal data to be erased",
                    details={"member_id": member_id, "erased_at": iso(row.erased_at)})
            outcome = domain.edit(profile_of(row), edit)
            changed = {change.field for change in outcome.changes}
            taken = uow.profile.holder(
                outcome.values.get("email") if "email" in changed else None,
                outcome.values.get("phone") if "phone" in changed else None,
                other_than=member_id)
            if taken:
                raise MemberExists(
                    f"another member has this {taken.replace('_', ' ')}",
                    details={"field": taken})
            if outcome.changes:
                now = ctx.clock()
                uow.members.update(member_id, **outcome.values)
                uow.profile.add_changes(member_id, outcome.changes, now, actor.name)
                uow.commit()
                log.info("member %s changed: %s", member_id, ", ".join(sorted(changed)))

    # Two members given the same phone at once: the unique index refuses the second, whose
    # retry then finds the first and answers member_exists.
    run_with_retry(attempt, retries=ctx.settings.max_retries)
    return members.get_member(ctx, member_id)


def find_member(ctx: ServiceContext, *, phone: str | None = None,
                email: str | None = None) -> dict[str, Any]:
    """The member with this phone number or e-mail address, read as enrolment reads them."""
    if (phone is None) == (email is None):
        raise ValidationFailed.on_fields(
            {"phone": ["Give exactly one of phone and email."],
             "email": ["Give exactly one of phone and email."]})
    asked = {"phone": phone} if phone is not None else {"email": email}
    [(field, value)] = canonical(ctx, asked).items()
    with ctx.uow(read_only=True) as uow:
        member_id = uow.profile.find(field, value) if value is not None else None
    if member_id is None:
        raise UnknownMember("no member has this " + " ".join(asked).replace("email", "e-mail"),
                            details=asked)
    return members.get_member(ctx, member_id)


def change_view(row: Any) -> dict[str, Any]:
    return {"change_id": row.id, "field": row.field, "old_value": row.old_value,
            "new_value": row.new_value, "changed_at": iso(row.changed_at), "actor": row.actor,
            "source": row.source}


def changes_page(ctx: ServiceContext, member_id: str, *, limit: int,
                 cursor: int | None) -> dict[str, Any]:
    """The member's profile changes, newest first; `next_cursor` continues below the last."""
    limit = max(1, min(limit, MAX_PAGE))
    with ctx.uow(read_only=True) as uow:
        if uow.members.get(member_id) is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        rows = uow.profile.changes(member_id, limit=limit + 1, cursor=cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"member_id": member_id, "changes": [change_view(r) for r in rows],
            "next_cursor": rows[-1].id if more and rows else None}


def erase(ctx: ServiceContext, member_id: str, reason: str | None,
          actor: Actor) -> dict[str, Any]:
    """Erase the member's personal data (and that of any duplicate merged into them):
    profile, consents, the personal values of their history and of other records
    (notifications ...). Points, ledger and transactions stay; the account goes on, anonymous.
    Doing it again changes nothing more."""
    why = audit.require_reason(reason, "an erasure")

    def attempt() -> dict[str, Any]:
        with ctx.uow() as uow:
            rows = _lock_person(uow, member_id)
            now = ctx.clock()
            first = rows[0].erased_at is None
            erased_at = now if first else rows[0].erased_at
            details: dict[str, Any] = {}
            for row in rows:
                details[row.member_id] = _erase_one(uow, row, erased_at, now, actor)
            if first:
                audit.record(uow, actor, "member.erased", now, subject=member_id, reason=why,
                             details={"members": details})
            uow.commit()
            log.info("personal data of member %s erased (%s)", member_id,
                     "now" if first else "already")
            return {"member_id": member_id, "erased_at": iso(erased_at), "erased_now": first}

    return run_with_retry(attempt, retries=ctx.settings.max_retries)


def _lock_person(uow: SqlUnitOfWork, member_id: str) -> list[Row[Any]]:
    """The member's row and those of the duplicates merged into them, locked in member-id
    order; the member first. Unknown or merged: refused."""
    ids = sorted({member_id, *uow.profile.merged_into(member_id)})
    locked = {one: uow.members.get(one, lock=True) for one in ids}
    row = locked[member_id]
    if row is None:
        raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
    refuse_merged(row)
    return [row, *(other for one, other in locked.items()
                   if one != member_id and other is not None)]


def _erase_one(uow: SqlUnitOfWork, row: Row[Any], erased_at: datetime, now: datetime,
               actor: Actor) -> dict[str, Any]:
    """Erase one member row's personal data and what other records hold of it."""
    outcome = domain.erasure(profile_of(row))
    if row.erased_at is None:
        uow.members.update(row.member_id, **outcome.values, erased_at=erased_at)
    scrubbed = uow.profile.scrub_changes(row.member_id, domain.PERSONAL_FIELDS,
                                         domain.PERSONAL_PREFIXES)
    uow.profile.add_changes(row.member_id, outcome.changes, now, actor.name)
    records = {**uow.profile.erase_elsewhere(row.member_id),
               **forget_relations(uow, row.member_id)}
    return {"fields": [change.field for change in outcome.changes],
            "history_scrubbed": scrubbed, "records": records}
