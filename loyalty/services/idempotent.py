"""Idempotent writes: the first request with a key is recorded with its response; a repeat with
the same body gets that response again, a repeat with another body is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Row

from loyalty.domain.errors import IdempotencyConflict, MemberMerged, UnknownMember
from loyalty.services.context import Recorded, ServiceContext
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

Work = Callable[[SqlUnitOfWork, Any], tuple[int, dict[str, Any]]]


def run_idempotent(ctx: ServiceContext, *, scope: str, key: str, fingerprint: str,
                   member_id: str, work: Work, dry_run: bool = False) -> Recorded:
    """Lock the member, answer a repeat from the stored response, else run `work` and store it.

    The member's row lock (an immediate transaction on SQLite) serialises every write for that
    member, so concurrent duplicates run one after the other and the later ones replay; a new
    request for a member merged into another is refused (a repeat of one recorded before the
    merge is still answered, its rows having moved with the member). A dry run answers a key
    already recorded the same way (and records nothing); otherwise it does the same work and
    rolls it back.
    """

    def attempt() -> Recorded:
        with ctx.uow() as uow:
            member = uow.members.get_for_write(member_id, scope, key)
            if member is None:
                prior = uow.idempotency.get(scope, key)  # recorded for another member?
                if prior is not None:
                    _replay(scope, key, fingerprint, member_id, prior.fingerprint,
                            prior.member_id)
                raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
            if member.prior_fingerprint is not None:
                _replay(scope, key, fingerprint, member_id, member.prior_fingerprint,
                        member.prior_member_id)
                return Recorded(member.prior_status, dict(member.prior_response), replayed=True)
            refuse_merged(member)
            status, body = work(uow, member)
            if dry_run:
                uow.rollback()
                return Recorded(200, body)
            uow.idempotency.put(scope, key, member_id=member_id, fingerprint=fingerprint,
                                status=status, response=body, created_at=ctx.clock())
            uow.commit()
            return Recorded(status, body)

    return run_with_retry(attempt, retries=ctx.settings.max_retries)


def refuse_merged(member: Any) -> None:
    """Nothing new is written for a member merged into another: the caller is told which."""
    if getattr(member, "merged_into", None) is not None:
        raise MemberMerged.pointing(member.member_id, member.merged_into)


def lock_for_write(uow: SqlUnitOfWork, *member_ids: str) -> list[Row[Any]]:
    """The members' rows, in the order asked, each locked until commit in member-id order (so
    two writes locking the same members never wait for each other in a circle); an unknown or
    merged member is refused."""
    rows = {member_id: uow.members.get(member_id, lock=True)
            for member_id in sorted(set(member_ids))}
    found = []
    for member_id in member_ids:
        row = rows[member_id]
        if row is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        refuse_merged(row)
        found.append(row)
    return found


def _replay(scope: str, key: str, fingerprint: str, member_id: str, prior_fingerprint: str,
            prior_member_id: str) -> None:
    """Refuse a repeat whose body or member differs from the request recorded first."""
    if prior_fingerprint != fingerprint or prior_member_id != member_id:
        raise IdempotencyConflict(
            f"{scope} {key!r} was already recorded with a different body", details={"key": key}
        )
