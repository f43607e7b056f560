"""The SQL of control groups: recording each member's group, and what each group of each rule
bought within its window (set-based, whatever the number of members)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Row, and_, case, func, insert, select
from sqlalchemy import type_coerce as raw

from loyalty.store import tables as t
from loyalty.store.types import MONEY_SCALE

x = t.offer_experiments.c
tx = t.transactions.c
o = t.offers.c
le = t.ledger_entries.c

#: what tells one experiment from another: a rule whose holdout changed is a new experiment
KEYS = (x.rule_id, x.campaign, x.percent, x.within_days)


def add(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(t.offer_experiments), rows)


def _per_decision(as_of: datetime) -> Any:
    """Each decision whose window closed by `as_of`: the purchases the member made after it
    within the window, and their spend (in money units)."""
    window = and_(tx.member_id == x.member_id, tx.type == "purchase",
                  tx.occurred_at > x.decided_at, tx.occurred_at <= x.window_until)
    return (select(*KEYS, x.grp, func.count(tx.transaction_id).label("purchases"),
                   func.coalesce(func.sum(raw(tx.total, BigInteger)), 0).label("spend"))
            .select_from(t.offer_experiments.outerjoin(t.transactions, window))
            .where(x.window_until <= as_of)
            .group_by(x.experiment_id, *KEYS, x.grp)).subquery()


def closed_groups(conn: Connection, as_of: datetime) -> Sequence[Row[Any]]:
    """Per experiment and group, of the decisions whose window closed by `as_of`: how many,
    how many bought again, their spend (money units) and the sum of squares of each
    decision's spend (in currency, for the variance)."""
    per = _per_decision(as_of)
    amount = per.c.spend / float(MONEY_SCALE)
    return conn.execute(
        select(per.c.rule_id, per.c.campaign, per.c.percent, per.c.within_days, per.c.grp,
               func.count().label("members"),
               func.sum(case((per.c.purchases > 0, 1), else_=0)).label("returned"),
               func.sum(per.c.spend).label("spend"),
               func.sum(amount * amount).label("spend_squares"))
        .group_by(per.c.rule_id, per.c.campaign, per.c.percent, per.c.within_days, per.c.grp)
    ).all()


def open_groups(conn: Connection, as_of: datetime) -> Sequence[Row[Any]]:
    """Per experiment and group, the decisions made by `as_of` whose window is still open."""
    return conn.execute(
        select(*KEYS, x.grp, func.count().label("members"))
        .where(x.decided_at <= as_of, x.window_until > as_of).group_by(*KEYS, x.grp)
    ).all()


def offer_costs(conn: Connection, as_of: datetime) -> dict[tuple[Any, ...], tuple[int, int]]:
    """Per experiment, for the offer group's decisions whose window closed by `as_of`: how
    many of the offers they issued were used by `as_of`, and the points the rule gave (what
    those offers added to the purchases that used them, and any points the rule awarded
    itself)."""
    closed = and_(x.grp == "offer", x.window_until <= as_of)
    offers = t.offer_experiments.join(t.offers, and_(
        o.source_id == x.source_id, o.rule_id == x.rule_id, o.member_id == x.member_id))
    was_used = and_(o.used_at.is_not(None), o.used_at <= as_of)
    used = conn.execute(select(*KEYS, func.count(o.id)).select_from(offers)
                        .where(closed, was_used).group_by(*KEYS)).all()
    by_offers = conn.execute(
        select(*KEYS, func.sum(le.points))
        .select_from(offers.join(t.ledger_entries, and_(
            le.source_id == o.used_transaction_id, le.rule_id == o.rule_id, le.kind == "earn")))
        .where(closed, was_used).group_by(*KEYS)).all()
    direct = conn.execute(
        select(*KEYS, func.sum(le.points))
        .select_from(t.offer_experiments.join(t.ledger_entries, and_(
            le.source_id == x.source_id, le.rule_id == x.rule_id, le.kind == "earn")))
        .where(closed, le.occurred_at <= as_of).group_by(*KEYS)).all()
    found: dict[tuple[Any, ...], tuple[int, int]] = {}
    for row in used:
        found[tuple(row[:4])] = (int(row[4]), 0)
    for row in (*by_offers, *direct):
        count, points = found.get(tuple(row[:4]), (0, 0))
        found[tuple(row[:4])] = (count, points + int(row[4] or 0))
    return found
