"""A member's relatives and important dates: recorded at the till or the service desk, read
back, removed; the daily sweep reminds the member ahead of each date (sweep/important_dates.py).

Each relative and date has an id the caller chose: sent again with the same body it answers
what it answered first (a till may retry), with another body 409 `idempotency_conflict`.
Removing a relative removes the dates naming them; removing what was already removed answers
the same as the first time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date
from typing import Any

from loyalty.domain.errors import (
    LoyaltyError,
    TooManyEntries,
    UnknownDate,
    UnknownMember,
    UnknownRelative,
    ValidationFailed,
)
from loyalty.domain.relations import (
    MAX_DATES,
    MAX_RELATIVES,
    AddDate,
    AddRelative,
    date_problems,
    upcoming,
)
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.idempotent import run_idempotent
from loyalty.services.timing import iso
from loyalty.store.relations import RelationsRepository
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

RELATIVE_SCOPE = "relative"
DATE_SCOPE = "important_date"


def add_relative(ctx: ServiceContext, cmd: AddRelative) -> Recorded:
    """Record a relative of the member, at most `MAX_RELATIVES` of them."""

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        repo = RelationsRepository(uow.connection)
        if repo.count_relatives(cmd.member_id) >= MAX_RELATIVES:
            raise TooManyEntries(
                f"A member may record at most {MAX_RELATIVES} relatives; remove one first.",
                details={"member_id": cmd.member_id, "limit": MAX_RELATIVES})
        values = {"relative_id": cmd.relative_id, "member_id": cmd.member_id,
                  "relation": cmd.relation, "name": cmd.name, "created_at": ctx.clock()}
        repo.add_relative(values)
        return 201, relative_view(values)

    return run_idempotent(ctx, scope=RELATIVE_SCOPE, key=cmd.relative_id,
                          fingerprint=cmd.fingerprint, member_id=cmd.member_id, work=run)


def add_date(ctx: ServiceContext, cmd: AddDate) -> Recorded:
    """Record an important date of the member, at most `MAX_DATES` of them; a date naming a
    relative names one of the member's, and a relative has one birthday."""
    today = ctx.clock().date()
    problems = date_fields(cmd.month, cmd.day, cmd.year, today)
    if problems:
        raise ValidationFailed.on_fields(problems)

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        repo = RelationsRepository(uow.connection)
        relative = None
        if cmd.relative_id is not None:
            relative = repo.relative(cmd.member_id, cmd.relative_id)
            if relative is None:
                raise ValidationFailed.on_fields({"relative_id": [
                    f"No relative {cmd.relative_id!r} is recorded for this member."]})
            if cmd.kind == "birthday":
                known = repo.birthday_of(cmd.relative_id)
                if known is not None:
                    raise ValidationFailed.on_fields({"kind": [
                        f"{relative.name}'s birthday is already recorded ({known})."]})
        if repo.count_dates(cmd.member_id) >= MAX_DATES:
            raise TooManyEntries(
                f"A member may record at most {MAX_DATES} important dates; remove one first.",
                details={"member_id": cmd.member_id, "limit": MAX_DATES})
        values = {"date_id": cmd.date_id, "member_id": cmd.member_id, "kind": cmd.kind,
                  "label": cmd.label, "relative_id": cmd.relative_id, "month": cmd.month,
                  "day": cmd.day, "year": cmd.year, "created_at": ctx.clock()}
        repo.add_date(values)
        return 201, date_view(values, relative, ctx.clock().date())

    return run_idempotent(ctx, scope=DATE_SCOPE, key=cmd.date_id, fingerprint=cmd.fingerprint,
                          member_id=cmd.member_id, work=run)


def date_fields(month: int, day: int, year: int | None, today: date) -> dict[str, list[str]]:
    """The problems of a date, by the field they concern."""
    problems = date_problems(month, day, year, today)
    if not problems:
        return {}
    text = problems[0]
    field = "month" if text.startswith("The month") else "year" \
        if text.startswith(("The year", "The day has not")) else "day"
    return {field: problems}


def list_relatives(ctx: ServiceContext, member_id: str) -> dict[str, Any]:
    with ctx.uow(read_only=True) as uow:
        _known(uow, member_id)
        rows = RelationsRepository(uow.connection).relatives(member_id)
    return {"member_id": member_id, "relatives": [relative_view(row._mapping) for row in rows]}


def list_dates(ctx: ServiceContext, member_id: str) -> dict[str, Any]:
    """The member's dates, soonest first as of now, each with when it next comes."""
    today = ctx.clock().date()
    with ctx.uow(read_only=True) as uow:
        _known(uow, member_id)
        rows = RelationsRepository(uow.connection).dates(member_id)
    views = [date_view(row._mapping, row, today) for row in rows]
    views.sort(key=lambda view: (view["next_on"], view["date_id"]))
    return {"member_id": member_id, "dates": views}


def remove_relative(ctx: ServiceContext, member_id: str, relative_id: str) -> None:
    """Remove a relative and every date naming them; one removed before is removed."""
    _remove(ctx, member_id, RELATIVE_SCOPE, relative_id,
            lambda repo: repo.relative(member_id, relative_id),
            lambda repo: repo.remove_relative(member_id, relative_id),
            UnknownRelative(f"no relative {relative_id!r} of member {member_id!r}",
                            details={"relative_id": relative_id}))


def remove_date(ctx: ServiceContext, member_id: str, date_id: str) -> None:
    """Remove an important date; one removed before is removed."""
    _remove(ctx, member_id, DATE_SCOPE, date_id,
            lambda repo: repo.date(member_id, date_id),
            lambda repo: repo.remove_date(member_id, date_id),
            UnknownDate(f"no important date {date_id!r} of member {member_id!r}",
                        details={"date_id": date_id}))


def _remove(ctx: ServiceContext, member_id: str, scope: str, key: str,
            find: Callable[[RelationsRepository], Any],
            remove: Callable[[RelationsRepository], Any], unknown: LoyaltyError) -> None:
    """Remove what `find` finds, with the member locked; what was recorded once and removed
    since is removed (no error), what was never recorded is `unknown`."""

    def attempt() -> None:
        with ctx.uow() as uow:
            _known(uow, member_id, lock=True)
            repo = RelationsRepository(uow.connection)
            if find(repo) is None:
                if not _was_recorded(uow, scope, key, member_id):
                    raise unknown
                return
            remove(repo)
            uow.commit()

    run_with_retry(attempt, retries=ctx.settings.max_retries)


def forget_relations(uow: SqlUnitOfWork, member_id: str) -> dict[str, int]:
    """Delete every relative and important date of a member (erasure), in the caller's unit
    of work; how many of each went."""
    relatives, dates = RelationsRepository(uow.connection).forget(member_id)
    return {"relatives": relatives, "dates": dates}


def move_relations(uow: SqlUnitOfWork, from_member: str, to_member: str) -> dict[str, int]:
    """Give the surviving member of a merge the duplicate's relatives and dates, in the
    caller's unit of work; how many of each moved."""
    relatives, dates = RelationsRepository(uow.connection).move(from_member, to_member)
    return {"relatives": relatives, "dates": dates}


def relative_view(row: Any) -> dict[str, Any]:
    return {"relative_id": row["relative_id"], "member_id": row["member_id"],
            "relation": row["relation"], "name": row["name"],
            "created_at": iso(row["created_at"].astimezone(UTC))}


def date_view(row: Any, relative: Any, today: date) -> dict[str, Any]:
    """A date as the till shows it: what it is, whose, and when it next comes."""
    return {
        "date_id": row["date_id"], "member_id": row["member_id"], "kind": row["kind"],
        "label": row["label"], "relative_id": row["relative_id"],
        "relation": relative.relation if relative is not None else None,
        "name": relative.name if relative is not None else None,
        "month": row["month"], "day": row["day"], "year": row["year"],
        "next_on": upcoming(row["month"], row["day"], row["year"], today).isoformat(),
        "created_at": iso(row["created_at"].astimezone(UTC)),
    }


def _known(uow: SqlUnitOfWork, member_id: str, *, lock: bool = False) -> Any:
    member = uow.members.get(member_id, lock=lock)
    if member is None:
        raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
    return member


def _was_recorded(uow: SqlUnitOfWork, scope: str, key: str, member_id: str) -> bool:
    prior = uow.idempotency.get(scope, key)
    return prior is not None and prior.member_id == member_id
