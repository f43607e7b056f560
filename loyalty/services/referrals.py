"""Who referred a member joining: checked at enrolment, so that a referral names a member who
can be rewarded and who is not the person joining."""

from __future__ import annotations

from loyalty.domain.errors import ValidationFailed
from loyalty.domain.referrals import Contacts
from loyalty.store import referrals
from loyalty.store.uow import SqlUnitOfWork


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed.on_fields({"referred_by": [message]})


def referrer_for(uow: SqlUnitOfWork, referred_by: str | None, member_id: str,
                 phone: str | None, email: str | None) -> str | None:
    """The member to record as the referrer of a member joining with these contacts: the
    one named, or the member it was merged into. Refused (nothing is enrolled) when unknown,
    erased, the member joining, or someone who has or had the same phone or e-mail (compared
    as mailboxes: without case, `+tags`, or the dots some providers ignore)."""
    if referred_by is None:
        return None
    if referred_by == member_id:
        raise _refused("A member cannot refer themselves.")
    conn = uow.connection
    survivor = referrals.survivor_id(conn, referred_by)
    row = None if survivor is None else uow.members.get(survivor)
    if row is None:
        raise _refused(f"There is no member {referred_by!r}.")
    if referrals.erased(row):
        raise _refused(f"Member {referred_by!r} asked for their personal data to be erased; "
                       "they cannot refer anyone.")
    shared = Contacts.of([phone], [email]).shared_with(referrals.contacts(conn, survivor or ""))
    if shared is not None:
        raise _refused(f"The referrer has, or had, the same {shared.replace('email', 'e-mail')} "
                       "as the member joining: a member cannot refer themselves.")
    return survivor
