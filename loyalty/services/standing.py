"""What a member is shown about their points and tier: when pending points become available,
what expires next, and what the next tier still needs.

The tier figures are the decision path's own (`decide.ladder_figures`): at the till those the
purchase or event was decided with, so the receipt costs no further query for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from loyalty.domain.decisions import RuleBook
from loyalty.domain.ledger import Account, Lot
from loyalty.domain.model import Occurrence
from loyalty.domain.standing import tier_steps
from loyalty.services.decide import Changes, ladder_figures, with_metric_figures
from loyalty.services.state import SqlState
from loyalty.services.timing import iso
from loyalty.store.uow import SqlUnitOfWork

#: How many pending release instants and expiry instants a member is shown.
PENDING_SHOWN = 10
EXPIRIES_SHOWN = 3
#: An occurrence that adds nothing to any figure: the figures as they stand.
_NOTHING = "standing"


def _amounts(pairs: Iterable[tuple[int, datetime]], key: str) -> list[dict[str, Any]]:
    """In UTC, as read from the database, whether the lot was read or is still in memory."""
    return [{"points": points, key: iso(at.astimezone(UTC))} for points, at in pairs]


def _grouped(lots: Iterable[Lot], instant: Any, limit: int) -> list[tuple[int, datetime]]:
    totals: dict[datetime, int] = {}
    for lot in lots:
        at = instant(lot)
        totals[at] = totals.get(at, 0) + lot.remaining
    return [(points, at) for at, points in sorted(totals.items())[:limit]]


def points_outlook(uow: SqlUnitOfWork, member_id: str, as_of: datetime, *,
                   account: Account, known: Sequence[Lot] = ()) -> dict[str, Any]:
    """Pending points by the instant they become available, and the next expiries, as of
    `as_of` (after `account` was settled to it). `known` are lots already read: when they
    hold every pending (or every open) point of the account, no query is made for them."""
    open_lots = [lot for lot in known if lot.remaining > 0]
    pending = [lot for lot in open_lots if lot.state == "pending" and lot.pending_until > as_of]
    schedule: list[tuple[int, datetime]] = []
    expiries: list[tuple[int, datetime]] = []
    read_pending = read_expiries = 0
    if account.pending <= 0:
        pass
    elif sum(lot.remaining for lot in pending) == account.pending:
        schedule = _grouped(pending, lambda lot: lot.pending_until, PENDING_SHOWN)
    else:
        read_pending = PENDING_SHOWN
    if account.available + account.pending <= 0:
        pass
    elif sum(lot.remaining for lot in open_lots) == account.available + account.pending:
        expiries = _grouped([lot for lot in open_lots if lot.expires_at is not None
                             and lot.expires_at > as_of],
                            lambda lot: lot.expires_at, EXPIRIES_SHOWN)
    else:
        read_expiries = EXPIRIES_SHOWN
    if read_pending or read_expiries:
        found_pending, found_expiries = uow.ledger.outlook(
            member_id, as_of, pending=read_pending, expiries=read_expiries)
        schedule = found_pending if read_pending else schedule
        expiries = found_expiries if read_expiries else expiries
    listed = _amounts(expiries, "expires_at")
    return {"becoming_available": _amounts(schedule, "available_at"),
            "next_expiry": listed[0] if listed else None, "expiring": listed}


def tier_progress(book: RuleBook, tier: str, figures: dict[str, Decimal] | None,
                  review_at: datetime | None) -> list[dict[str, Any]]:
    """Each way to the next tier: `{metric, now, next_tier, needed, by}` (none: no ladder)."""
    ladder = book.policy.tiers
    if ladder is None or figures is None:
        return []
    return [{"metric": step.metric, "now": str(step.now), "next_tier": step.next_tier,
             "needed": str(step.needed),
             "by": None if step.by is None else iso(step.by.astimezone(UTC))}
            for step in tier_steps(ladder, tier, figures, review_at)]


def figures_now(book: RuleBook, uow: SqlUnitOfWork, row: Any,
                as_of: datetime) -> dict[str, Decimal] | None:
    """The ladder's figures of the member `row` as of `as_of`, read as the till reads them."""
    ladder = book.policy.tiers
    if ladder is None:
        return None
    state = SqlState(uow)
    holder = state.adopt(row)
    stats = with_metric_figures(book, state, holder, as_of, state.stats(holder, as_of))
    return ladder_figures(ladder, stats, Occurrence(_NOTHING, _NOTHING, as_of), 0, book.policy)


def member_standing(book: RuleBook | None, uow: SqlUnitOfWork, row: Any, account: Account,
                    as_of: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The member view's points outlook and tier progress as of `as_of` (no rules in force:
    no progress)."""
    outlook = points_outlook(uow, row.member_id, as_of, account=account)
    if book is None:
        return outlook, []
    progress = tier_progress(book, row.tier, figures_now(book, uow, row, as_of),
                             row.tier_review_at)
    return outlook, progress


def receipt_standing(book: RuleBook, uow: SqlUnitOfWork, row: Any, done: Sequence[Changes],
                     as_of: datetime) -> dict[str, Any]:
    """What a receipt adds for the member after a write: the points outlook and tier progress
    once the occurrence and its reactions are recorded. `row` is the member as read (and
    locked) for the write, before it."""
    account = done[-1].account
    known: dict[Any, Lot] = {}
    for changes in done:  # a later reaction's copy of a lot is the more recent
        known.update({lot.lot_id or id(lot): lot for lot in changes.account.lots})
    outlook = points_outlook(uow, row.member_id, as_of, account=account,
                             known=list(known.values()))
    review_at = row.tier_review_at
    for changes in done:
        review_at = changes.member.get("tier_review_at", review_at)
    tier = done[0].outcome.tier_after
    figures = done[-1].figures
    if figures is None and book.policy.tiers is not None:
        fresh = uow.members.get(row.member_id)
        figures = figures_now(book, uow, fresh, as_of) if fresh is not None else None
    return {**outlook, "tier_progress": tier_progress(book, tier, figures, review_at)}
