"""What a member app reads about its own member: vouchers held and offers open (the summary and
the ledger are the member view's and the ledger's own, in services/members.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain.errors import UnknownMember
from loyalty.services.context import ServiceContext
from loyalty.services.members import rules_in_force
from loyalty.services.timing import iso


def vouchers(ctx: ServiceContext, member_id: str, as_of: datetime | None = None
             ) -> dict[str, Any]:
    """The rewards the member holds (valid, neither used nor taken back), with their voucher
    codes and what the catalogue calls them."""
    at = as_of or ctx.clock()
    with ctx.uow(read_only=True) as uow:
        if uow.members.get(member_id) is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        book = rules_in_force(ctx, uow)
        held = uow.programme.member_rewards(member_id, at)
    found = []
    for row in held:
        reward = book.policy.reward(row.reward_id) if book is not None else None
        found.append({
            "voucher_code": row.voucher_code, "reward_id": row.reward_id,
            "name": reward.name if reward else None,
            "description": (reward.description or None) if reward else None,
            "quantity": row.quantity, "granted_at": iso(row.granted_at),
            "valid_until": iso(row.valid_until)})
    return {"member_id": member_id, "vouchers": found}


def offers(ctx: ServiceContext, member_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    """The offers open to the member: what each gives and until when."""
    at = as_of or ctx.clock()
    with ctx.uow(read_only=True) as uow:
        if uow.members.get(member_id) is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        rows = uow.programme.open_offers(member_id, at)
    return {"member_id": member_id, "offers": [
        {"offer_code": o.offer_code, "benefit": o.benefit, "value": str(o.value),
         "description": o.description, "issued_at": iso(o.issued_at),
         "valid_until": iso(o.valid_until)} for o in rows]}
