"""`loyalty ledger verify`: every ledger invariant, checked with set-based SQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import BigInteger, Connection, and_, case, cast, func, literal, or_, select

from loyalty.services.context import ServiceContext
from loyalty.store import tables as t

e = t.ledger_entries.c
lots = t.point_lots.c
m = t.members.c
tx = t.transactions.c


def _bucket_sum(bucket: str) -> Any:
    return func.coalesce(func.sum(case((e.bucket == bucket, e.points), else_=0)), 0)


def _balance_drift(conn: Connection) -> Iterator[str]:
    sums = (
        select(e.member_id, _bucket_sum("available").label("available"),
               _bucket_sum("pending").label("pending"), _bucket_sum("debt").label("debt"),
               # earned here, or moved here by a merge (memo bucket `lifetime`)
               func.coalesce(func.sum(case((or_(e.kind == "earn", e.bucket == "lifetime"),
                                            e.points), else_=0)), 0)
               .label("earned"))
        .group_by(e.member_id).subquery()
    )
    query = select(
        m.member_id, m.points_available, m.points_pending, m.points_debt, m.points_lifetime,
        func.coalesce(sums.c.available, 0), func.coalesce(sums.c.pending, 0),
        func.coalesce(sums.c.debt, 0), func.coalesce(sums.c.earned, 0),
    ).select_from(t.members.outerjoin(sums, sums.c.member_id == m.member_id)).where(or_(
        m.points_available != func.coalesce(sums.c.available, 0),
        m.points_pending != func.coalesce(sums.c.pending, 0),
        m.points_debt != func.coalesce(sums.c.debt, 0),
        m.points_lifetime != func.coalesce(sums.c.earned, 0),
        m.points_available < 0, m.points_pending < 0, m.points_debt < 0,
    ))
    for r in conn.execute(query):
        yield (f"member {r[0]}: balances available/pending/debt/lifetime {r[1]}/{r[2]}/{r[3]}/"
               f"{r[4]} but entries sum to {r[5]}/{r[6]}/{r[7]}/{r[8]}")


def _lot_drift(conn: Connection) -> Iterator[str]:
    per_lot = (
        select(e.lot_id, _bucket_sum("available").label("available"),
               _bucket_sum("pending").label("pending"))
        .where(e.lot_id.is_not(None)).group_by(e.lot_id).subquery()
    )
    held = func.coalesce(per_lot.c.available, 0) + func.coalesce(per_lot.c.pending, 0)
    wrong_bucket = case(
        (lots.state == "pending", func.coalesce(per_lot.c.available, 0)),
        else_=func.coalesce(per_lot.c.pending, 0),
    )
    query = select(lots.lot_id, lots.member_id, lots.state, lots.earned, lots.remaining, held,
                   wrong_bucket).select_from(
        t.point_lots.outerjoin(per_lot, per_lot.c.lot_id == lots.lot_id)
    ).where(or_(lots.remaining != held, wrong_bucket != 0, lots.remaining < 0,
                lots.remaining > lots.earned))
    for r in conn.execute(query):
        yield (f"lot {r[0]} of member {r[1]} ({r[2]}): earned {r[3]}, remaining {r[4]}, "
               f"entries hold {r[5]}, {r[6]} in the wrong bucket")


def _lots_match_balances(conn: Connection) -> Iterator[str]:
    remaining = (
        select(lots.member_id,
               func.sum(case((lots.state == "available", lots.remaining), else_=0)).label("a"),
               func.sum(case((lots.state == "pending", lots.remaining), else_=0)).label("p"))
        .group_by(lots.member_id).subquery()
    )
    query = select(m.member_id, m.points_available, m.points_pending,
                   func.coalesce(remaining.c.a, 0), func.coalesce(remaining.c.p, 0)).select_from(
        t.members.outerjoin(remaining, remaining.c.member_id == m.member_id)
    ).where(or_(m.points_available != func.coalesce(remaining.c.a, 0),
                m.points_pending != func.coalesce(remaining.c.p, 0)))
    for r in conn.execute(query):
        yield (f"member {r[0]}: balances available/pending {r[1]}/{r[2]} but open lots hold "
               f"{r[3]}/{r[4]}")


def _transactions(conn: Connection) -> Iterator[str]:
    earned = (
        select(e.source_id, func.sum(e.points).label("earned"))
        .where(e.kind == "earn", e.source_type == "transaction").group_by(e.source_id).subquery()
    )
    query = select(tx.transaction_id, tx.points_earned, tx.points_clawed_back,
                   func.coalesce(earned.c.earned, 0)).select_from(
        t.transactions.outerjoin(earned, earned.c.source_id == tx.transaction_id)
    ).where(tx.type == "purchase", or_(
        tx.points_clawed_back > tx.points_earned,
        tx.points_earned != func.coalesce(earned.c.earned, 0),
    ))
    for r in conn.execute(query):
        yield (f"purchase {r[0]}: earned {r[1]} (entries {r[3]}), clawed back {r[2]}")
    lines = t.transaction_lines.c
    over = select(lines.transaction_id, lines.line_no).where(
        or_(lines.returned_quantity > lines.quantity, lines.returned_quantity < 0))
    for line in conn.execute(over):
        yield f"transaction {line[0]} line {line[1]}: more returned than bought"


def _whole_points(conn: Connection) -> Iterator[str]:
    """Points are whole numbers (a SQLite column would hold a fraction if one were written)."""
    checks = [
        (t.ledger_entries, e.entry_id, "entry", [e.points]),
        (t.point_lots, lots.lot_id, "lot", [lots.earned, lots.remaining]),
        (t.members, m.member_id, "member",
         [m.points_available, m.points_pending, m.points_debt, m.points_lifetime]),
        (t.transactions, tx.transaction_id, "transaction",
         [tx.points_earned, tx.points_clawed_back]),
        (t.member_rewards, t.member_rewards.c.id, "reward", [t.member_rewards.c.points_spent]),
        (t.adjustments, t.adjustments.c.adjustment_id, "adjustment", [t.adjustments.c.points]),
    ]
    for table, key, name, columns in checks:
        fractional = or_(*(column != cast(column, BigInteger) for column in columns))
        for row in conn.execute(select(key, *columns).select_from(table).where(fractional)):
            values = "/".join(str(value) for value in row[1:])
            yield f"{name} {row[0]}: points are not whole numbers ({values})"


def _differs(conn: Connection, table: Any, key: Any, recorded: Any, totals: Any, where: Any,
             *shown: Any) -> Iterator[Any]:
    """Rows (key, *shown, recorded, total) of `table` matching `where` whose `recorded` column
    differs from their total in `totals`, a subquery of (`k`, `total`) per key."""
    total = func.coalesce(totals.c.total, 0)
    yield from conn.execute(
        select(key, *shown, recorded, total)
        .select_from(table.outerjoin(totals, totals.c.k == key))
        .where(where, recorded != total)
    )


def _clawbacks(conn: Connection) -> Iterator[str]:
    """A return's clawback entries (and any shortfall owed or waived) make its clawed-back
    points; a purchase's clawed-back points are those of its returns."""
    taken = case((e.kind == "clawback", -e.points),
                 (e.kind.in_(("debt", "waived")), e.points), else_=0)
    per_return = (
        select(e.source_id.label("k"), func.sum(taken).label("total"))
        .where(e.source_type == "transaction", e.kind.in_(("clawback", "debt", "waived")))
        .group_by(e.source_id).subquery()
    )
    for r in _differs(conn, t.transactions, tx.transaction_id, tx.points_clawed_back,
                      per_return, tx.type == "return"):
        yield f"return {r[0]}: clawed back {r[1]} but its entries take {r[2]}"
    returns = t.transactions.alias("returns")
    per_purchase = (
        select(returns.c.original_transaction_id.label("k"),
               func.sum(returns.c.points_clawed_back).label("total"))
        .where(returns.c.type == "return").group_by(returns.c.original_transaction_id)
        .subquery()
    )
    for r in _differs(conn, t.transactions, tx.transaction_id, tx.points_clawed_back,
                      per_purchase, tx.type == "purchase"):
        yield f"purchase {r[0]}: clawed back {r[1]} but its returns clawed back {r[2]}"


def _redemptions(conn: Connection) -> Iterator[str]:
    """A redemption's entries take exactly the points it says it spent."""
    mr = t.member_rewards.c
    spent = (
        select(e.source_id.label("k"), func.sum(-e.points).label("total"))
        .where(e.source_type == "redemption", e.kind == "redeem").group_by(e.source_id)
        .subquery()
    )
    for r in _differs(conn, t.member_rewards, mr.source_id, mr.points_spent, spent,
                      mr.source_type == "redemption", mr.member_id):
        yield f"redemption {r[0]} of member {r[1]}: spent {r[2]} but its entries take {r[3]}"


def _adjustments(conn: Connection) -> Iterator[str]:
    """An adjustment's entries that add or take its points (not the settling before it, nor
    the debt its points repay) add up to its points."""
    ad = t.adjustments.c
    moved = (
        select(e.source_id.label("k"), func.sum(e.points).label("total"))
        .where(e.source_type == "adjustment", e.kind.in_(("earn", "adjust")))
        .group_by(e.source_id).subquery()
    )
    for r in _differs(conn, t.adjustments, ad.adjustment_id, ad.points, moved, literal(True),
                      ad.member_id):
        yield f"adjustment {r[0]} of member {r[1]}: {r[2]} points but its entries move {r[3]}"


def _rewards(conn: Connection) -> Iterator[str]:
    """A used reward names a purchase of its member; a revoked one, and a used one kept after
    a return, name a return of the purchase that granted it."""
    mr = t.member_rewards.c
    used = t.transactions.alias("used")
    back = t.transactions.alias("back")
    taken_by = func.coalesce(mr.revoked_by, mr.kept_by)
    query = select(mr.id, mr.member_id, mr.reward_id, mr.status, mr.used_transaction_id,
                   taken_by).select_from(
        t.member_rewards
        .outerjoin(used, and_(used.c.transaction_id == mr.used_transaction_id,
                              used.c.type == "purchase", used.c.member_id == mr.member_id))
        .outerjoin(back, and_(back.c.transaction_id == taken_by, back.c.type == "return",
                              back.c.original_transaction_id == mr.source_id))
    ).where(or_(
        mr.status.not_in(("held", "used", "revoked")),
        (mr.status == "used") != mr.used_transaction_id.is_not(None),
        (mr.status == "revoked") != mr.revoked_by.is_not(None),
        and_(mr.kept_by.is_not(None), mr.status != "used"),
        and_(mr.used_transaction_id.is_not(None), used.c.transaction_id.is_(None)),
        and_(taken_by.is_not(None), back.c.transaction_id.is_(None)),
    ))
    for r in conn.execute(query):
        yield (f"reward {r[0]} ({r[2]}) of member {r[1]}: {r[3]}, used by {r[4]}, taken back "
               f"by {r[5]}: not a purchase of the member or a return of its purchase")


def _idempotency(conn: Connection) -> Iterator[str]:
    """Every recorded transaction, event, redemption and adjustment has the idempotency record
    that answers a repeat."""
    keys = t.idempotency_keys.c
    ev = t.events.c
    mr = t.member_rewards.c
    for scope, table, key, where in [
        ("transaction", t.transactions, tx.transaction_id, literal(True)),
        ("event", t.events, ev.event_id, ev.origin.is_(None)),  # raised by a till
        ("redemption", t.member_rewards, mr.source_id, mr.source_type == "redemption"),
        ("adjustment", t.adjustments, t.adjustments.c.adjustment_id, literal(True)),
    ]:
        missing = select(key).select_from(table.outerjoin(t.idempotency_keys, and_(
            keys.scope == literal(scope), keys.key == key))).where(where, keys.key.is_(None))
        for row in conn.execute(missing):
            yield f"{scope} {row[0]} has no idempotency record"


def verify_ledger(ctx: ServiceContext) -> list[str]:
    """Every invariant violation found; an empty list means the ledger is consistent."""
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        problems = [*_whole_points(conn), *_balance_drift(conn), *_lot_drift(conn),
                    *_lots_match_balances(conn), *_transactions(conn), *_clawbacks(conn),
                    *_redemptions(conn), *_adjustments(conn), *_rewards(conn),
                    *_idempotency(conn),
                    *_history(conn), *_transfers(conn), *_merges(conn)]
    return problems


def _history(conn: Connection) -> Iterator[str]:
    """Every recorded transaction, event, redemption and adjustment is in the history once,
    which is what a backtest and explain replay."""
    h = t.history.c
    ev = t.events.c
    mr = t.member_rewards.c
    for source_type, table, key, where in [
        ("transaction", t.transactions, tx.transaction_id, literal(True)),
        ("event", t.events, ev.event_id, literal(True)),
        ("redemption", t.member_rewards, mr.source_id, mr.source_type == "redemption"),
        ("adjustment", t.adjustments, t.adjustments.c.adjustment_id, literal(True)),
    ]:
        seen = (select(h.source_id.label("k"), func.count().label("n"))
                .where(h.source_type == source_type).group_by(h.source_id).subquery())
        wrong = select(key, seen.c.n).select_from(table.outerjoin(seen, seen.c.k == key)).where(
            where, or_(seen.c.n.is_(None), seen.c.n != 1))
        for row in conn.execute(wrong):
            yield f"{source_type} {row[0]} is in the history {row[1] or 0} times, not once"


def _transfers(conn: Connection) -> Iterator[str]:
    """A transfer's entries take its points from the giver and give them to the receiver; it
    is in each one's history once, and has the idempotency record that answers a repeat."""
    x = t.transfers.c
    h = t.history.c
    keys = t.idempotency_keys.c
    for kind, member, sign in (("transfer_out", x.from_member_id, -1),
                               ("transfer_in", x.to_member_id, 1)):
        moved = (select(e.source_id.label("k"), e.member_id.label("m"),
                        func.sum(e.points).label("total"))
                 .where(e.source_type == "transfer", e.kind == kind)
                 .group_by(e.source_id, e.member_id).subquery())
        query = (select(x.transfer_id, member, x.points, moved.c.total)
                 .select_from(t.transfers.outerjoin(moved, and_(moved.c.k == x.transfer_id,
                                                                moved.c.m == member)))
                 .where(or_(moved.c.total.is_(None), moved.c.total != x.points * sign)))
        for r in conn.execute(query):
            yield (f"transfer {r[0]}: {r[2]} points but the {kind} entries of member {r[1]} "
                   f"move {r[3] or 0}")
        seen = (select(h.source_id.label("k"), h.member_id.label("m"),
                       func.count().label("n"))
                .where(h.source_type == "transfer").group_by(h.source_id, h.member_id)
                .subquery())
        wrong = (select(x.transfer_id, member, seen.c.n)
                 .select_from(t.transfers.outerjoin(seen, and_(seen.c.k == x.transfer_id,
                                                               seen.c.m == member)))
                 .where(or_(seen.c.n.is_(None), seen.c.n != 1)))
        for found in conn.execute(wrong):
            yield (f"transfer {found[0]} is in the history of member {found[1]} "
                   f"{found[2] or 0} times, not once")
    missing = select(x.transfer_id).select_from(t.transfers.outerjoin(t.idempotency_keys, and_(
        keys.scope == literal("transfer"), keys.key == x.transfer_id))).where(keys.key.is_(None))
    for row in conn.execute(missing):
        yield f"transfer {row[0]} has no idempotency record"


def _merges(conn: Connection) -> Iterator[str]:
    """A merge's entries move points from one member to another without making or losing any,
    bucket by bucket; a merged member holds nothing and points at a member that was not
    merged."""
    moved = (select(e.source_id, e.bucket, func.sum(e.points))
             .where(e.source_type == "merge", e.kind.in_(("merge_out", "merge_in")))
             .group_by(e.source_id, e.bucket).having(func.sum(e.points) != 0))
    for r in conn.execute(moved):
        yield f"merge {r[0]}: its {r[1]} entries add up to {r[2]}, not 0"
    into = t.members.alias("into")
    query = select(m.member_id, m.merged_into, into.c.merged_into).select_from(
        t.members.outerjoin(into, into.c.member_id == m.merged_into)
    ).where(m.merged_into.is_not(None), or_(
        into.c.member_id.is_(None), into.c.merged_into.is_not(None),
        m.points_available != 0, m.points_pending != 0, m.points_debt != 0,
        m.points_lifetime != 0))
    for r in conn.execute(query):
        yield (f"member {r[0]}: merged into {r[1]}, but holds points or points at a member "
               f"that is missing or merged ({r[2]})")
