"""What marketing reads at a glance: the pyramid, the lifecycle, win-back returns, and the
rewards that came back with returned purchases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, func, select

from loyalty.services.context import ServiceContext
from loyalty.services.experiments import experiments
from loyalty.services.timing import iso
from loyalty.store import tables as t

m = t.members.c
o = t.offers.c
tx = t.transactions.c


def overview(ctx: ServiceContext) -> dict[str, Any]:
    """Members by tier (the pyramid), VIPs, and members by lifecycle stage."""
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        tiers: dict[str, int] = {
            row[0]: int(row[1])
            for row in conn.execute(select(m.tier, func.count()).group_by(m.tier))
        }
        stages: dict[str, int] = {
            row[0]: int(row[1])
            for row in conn.execute(select(m.lifecycle_stage, func.count())
                                    .group_by(m.lifecycle_stage))
        }
        vip = conn.execute(select(func.count()).where(m.vip.is_(True))).scalar_one()
        total = conn.execute(select(func.count()).select_from(t.members)).scalar_one()
    book = ctx.book()
    order = [level.tier for level in book.policy.tiers.levels] if book.policy.tiers else []
    pyramid = [{"tier": tier, "members": int(tiers.get(tier, 0))} for tier in reversed(order)]
    pyramid += [{"tier": tier, "members": int(n)} for tier, n in tiers.items()
                if tier not in order]
    return {"members": int(total), "vip": int(vip), "pyramid": pyramid,
            "lifecycle": {stage: int(n) for stage, n in sorted(stages.items())}}


def winback(ctx: ServiceContext, as_of: datetime | None = None) -> dict[str, Any]:
    """Offers issued and used per offer and campaign, members who came back, and their spend
    from the moment they used the offer; and, for each rule with a control group, what the
    members who got it did against those set aside (`experiments`, judged as of `as_of`)."""
    at = ctx.clock() if as_of is None else as_of
    policy = ctx.book(at).policy
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        found = experiments(conn, at, policy.point_value)
        rows = conn.execute(
            select(o.offer_code, o.campaign, func.count(),
                   func.count(o.used_at), func.count(distinct(o.member_id)))
            .group_by(o.offer_code, o.campaign).order_by(o.offer_code)
        ).all()
        offers = []
        for code, campaign, issued, used, members in rows:
            came_back = select(o.member_id, func.min(o.used_at).label("used_at")).where(
                o.offer_code == code, o.used_at.is_not(None)).group_by(o.member_id).subquery()
            back, spend = conn.execute(
                select(func.count(distinct(came_back.c.member_id)),
                       func.coalesce(func.sum(tx.total), 0))
                .select_from(came_back.outerjoin(t.transactions, and_(
                    tx.member_id == came_back.c.member_id,
                    tx.occurred_at >= came_back.c.used_at)))
            ).one()
            offers.append({
                "offer_code": code, "campaign": campaign, "issued": int(issued),
                "used": int(used), "members_offered": int(members),
                "members_won_back": int(back), "spend_since_use": str(spend),
                "use_rate": round(int(used) / int(issued), 4) if issued else 0.0,
            })
    return {"as_of": iso(at), "currency": policy.currency, "offers": offers,
            "experiments": found}


def returned_rewards(ctx: ServiceContext) -> dict[str, Any]:
    """Rewards whose purchase was returned, oldest return first: revoked when unused, kept
    when the member had used them already; and how many of each reward."""
    with ctx.uow(read_only=True) as uow:
        rows = uow.programme.returned_rewards()
    rewards = []
    totals: dict[str, dict[str, int]] = {}
    for r in rows:
        outcome = "revoked" if r.revoked_by is not None else "kept"
        count = totals.setdefault(r.reward_id, {"revoked": 0, "kept": 0})
        count[outcome] += 1
        rewards.append({
            "member_id": r.member_id, "reward_id": r.reward_id, "quantity": r.quantity,
            "voucher_code": r.voucher_code, "outcome": outcome, "purchase_id": r.source_id,
            "return_id": r.revoked_by or r.kept_by,
            "returned_at": iso(r.revoked_at or r.kept_at),
            "used_by": r.used_transaction_id, "rule_id": r.rule_id, "campaign": r.campaign,
        })
    return {"totals": [{"reward_id": reward_id, **count}
                       for reward_id, count in sorted(totals.items())],
            "rewards": rewards}
