"""The points account of one member: lots, buckets and append-only entries. Plain Python.

Every movement of points is an `Entry` in one bucket (`pending`, `available`, `debt`, or the
memo buckets `waived` and `lifetime`); a bucket's balance is the sum of its entries (the points
earned in a lifetime are the `earn` entries plus the `lifetime` ones a merge moved). Earned
points form a `Lot` with its own pending-until and expiry instants; spending and expiry consume
lots soonest-expiring first, and a return claws back pending points first, then available ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

Bucket = Literal["pending", "available", "debt", "waived", "lifetime"]

# Movements that no rule file rule causes name the policy (in program.yaml) that governs them.
ACTIVATION_RULE = "points.pending_days"
EXPIRY_RULE = "points.expiry"
CLAWBACK_RULE = "points.clawback"
SHORTFALL_RULE = "points.shortfall"
#: A service desk's adjustment, which no rule decides, names the desk.
ADJUSTMENT_RULE = "desk.adjustment"
#: A merge of a duplicate member, which no rule decides either.
MERGE_RULE = "desk.merge"
#: Points given to another member, governed by program.yaml `transfers:`.
TRANSFER_RULE = "transfers"
FAR_FUTURE = datetime.max


@dataclass(slots=True)
class Lot:
    """Points earned together; `remaining` shrinks as they are spent, clawed back or expire."""

    member_id: str
    source_type: str
    source_id: str
    rule_id: str | None
    earned: int
    remaining: int
    state: Literal["pending", "available"]
    earned_at: datetime
    pending_until: datetime
    expires_at: datetime | None
    lot_id: int | None = None
    changed: bool = False

    @property
    def bucket(self) -> Bucket:
        return self.state

    def expiry_key(self) -> tuple[bool, datetime, int]:
        """Soonest-expiring first, never-expiring last (oldest first), then by lot id."""
        expires = self.expires_at
        return (
            expires is None,
            expires if expires is not None else self.earned_at,
            self.lot_id or 0,
        )


@dataclass(frozen=True)
class Piece:
    """Points moved out of one lot into another member's account, with the lot's instants
    (a move never extends an expiry nor shortens a return window)."""

    points: int
    earned_at: datetime
    pending_until: datetime
    expires_at: datetime | None


@dataclass(slots=True)
class Entry:
    """One append-only ledger line."""

    kind: str
    bucket: Bucket
    points: int
    reason: str
    source_type: str
    source_id: str
    occurred_at: datetime
    lot: Lot | None = None
    rule_id: str | None = None
    ruleset_version: str | None = None
    campaign: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class Source:
    """What caused a movement: a transaction, event, redemption, adjustment or sweep, the rule
    behind it, and for an adjustment who made it."""

    source_type: str
    source_id: str
    occurred_at: datetime
    rule_id: str | None = None
    ruleset_version: str | None = None
    campaign: str | None = None
    actor: str | None = None


@dataclass
class Account:
    """Balances plus the lots loaded for this operation; collects new entries and lot changes."""

    member_id: str
    available: int
    pending: int
    debt: int
    lifetime: int
    lots: list[Lot] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    new_lots: list[Lot] = field(default_factory=list)

    def _post(self, kind: str, bucket: Bucket, points: int, reason: str, src: Source,
              lot: Lot | None = None) -> None:
        if points == 0:
            return
        self.entries.append(
            Entry(kind, bucket, points, reason, src.source_type, src.source_id, src.occurred_at,
                  lot, src.rule_id, src.ruleset_version, src.campaign, src.actor)
        )
        if bucket == "available":
            self.available += points
        elif bucket == "pending":
            self.pending += points
        elif bucket == "debt":
            self.debt += points
        elif bucket == "lifetime":
            self.lifetime += points

    def _take(self, lot: Lot, points: int, kind: str, reason: str, src: Source) -> None:
        lot.remaining -= points
        lot.changed = True
        self._post(kind, lot.bucket, -points, reason, src, lot)

    def earn(self, parts: list[tuple[int, str, Source]], *, pending_until: datetime,
             expires_at: datetime | None) -> Lot | None:
        """Credit one new lot made of `parts` (points, reason, source: one entry each).

        The lot is pending until `pending_until`; any debt is repaid from it first.
        """
        parts = [part for part in parts if part[0] > 0]
        total = sum(points for points, _, _ in parts)
        if total <= 0:
            return None
        first = parts[0][2]
        state: Literal["pending", "available"] = (
            "pending" if pending_until > first.occurred_at else "available"
        )
        lot = Lot(self.member_id, first.source_type, first.source_id, first.rule_id, total, total,
                  state, first.occurred_at, pending_until, expires_at)
        self.lots.append(lot)
        self.new_lots.append(lot)
        for points, reason, src in parts:
            self._post("earn", lot.bucket, points, reason, src, lot)
        self.lifetime += total
        if self.debt > 0:
            repay = min(self.debt, total)
            src = replace(first, rule_id=SHORTFALL_RULE, campaign=None)
            self._take(lot, repay, "debt_repayment", "repays an earlier shortfall", src)
            self._post("debt_repayment", "debt", -repay, "repays an earlier shortfall", src)
        return lot

    def settle(self, as_of: datetime, src: Source) -> None:
        """Make matured pending lots available and expire lots whose expiry has passed."""
        activation = replace(src, rule_id=ACTIVATION_RULE)
        expiry = replace(src, rule_id=EXPIRY_RULE)
        for lot in sorted(self.lots, key=Lot.expiry_key):
            if lot.remaining <= 0:
                continue
            if lot.state == "pending" and lot.pending_until <= as_of:
                moved = lot.remaining
                reason = "the return window is over: points can be spent"
                self._post("activate", "pending", -moved, reason, activation, lot)
                lot.state = "available"
                lot.changed = True
                self._post("activate", "available", moved, reason, activation, lot)
            if lot.expires_at is not None and lot.expires_at <= as_of:
                self._take(lot, lot.remaining, "expire", "points expired", expiry)

    def spend(self, points: int, reason: str, src: Source, *, kind: str = "redeem") -> None:
        """Take available points, soonest-expiring lots first, as entries of `kind` ("redeem",
        or "adjust" for a service desk's removal); the caller checked the balance."""
        self.give(points, reason, src, kind=kind)

    def claw_back(self, points: int, reason: str, src: Source, *, original_source_id: str,
                  shortfall: Literal["debt", "floor"]) -> int:
        """Remove `points`: pending lots first (the original sale's own first), then available.

        Returns the shortfall: points that could not be taken, recorded as a debt or waived.
        """
        left = points
        src = replace(src, rule_id=CLAWBACK_RULE)
        owed = replace(src, rule_id=SHORTFALL_RULE)

        def order(lot: Lot) -> tuple[bool, bool, tuple[bool, datetime, int]]:
            return (lot.state != "pending", lot.source_id != original_source_id,
                    lot.expiry_key())

        for lot in sorted(self.lots, key=order):
            if left == 0:
                break
            if lot.remaining <= 0:
                continue
            take = min(left, lot.remaining)
            self._take(lot, take, "clawback", reason, src)
            left -= take
        if left:
            if shortfall == "debt":
                self._post("debt", "debt", left, f"{reason} (shortfall owed)", owed)
            else:
                self._post("waived", "waived", left, f"{reason} (shortfall waived)", owed)
        return left

    def give(self, points: int, reason: str, src: Source, *,
             kind: str = "transfer_out") -> list[Piece]:
        """Take available points, soonest-expiring lots first, as entries of `kind` (a
        transfer, a redemption, a service desk's removal); the pieces taken, each with its
        lot's instants. The caller checked the balance."""
        if points > self.available:
            raise ValueError("taking more than the available balance")
        left, pieces = points, []
        for lot in sorted(self.lots, key=Lot.expiry_key):
            if left == 0:
                break
            if lot.state != "available" or lot.remaining <= 0:
                continue
            take = min(left, lot.remaining)
            self._take(lot, take, kind, reason, src)
            pieces.append(Piece(take, lot.earned_at, lot.pending_until, lot.expires_at))
            left -= take
        if left:
            raise ValueError("loaded lots do not cover the available balance")
        return pieces

    def receive(self, pieces: list[Piece], reason: str, src: Source, *,
                kind: str = "transfer_in") -> None:
        """One new available lot per piece, keeping its instants; points neither earned (the
        lifetime total stays) nor pending. Any debt is repaid from them first."""
        for piece in pieces:
            lot = Lot(self.member_id, src.source_type, src.source_id, src.rule_id, piece.points,
                      piece.points, "available", piece.earned_at, piece.pending_until,
                      piece.expires_at)
            self.lots.append(lot)
            self.new_lots.append(lot)
            self._post(kind, "available", piece.points, reason, src, lot)
            if self.debt > 0:
                repay = min(self.debt, piece.points)
                owed = replace(src, rule_id=SHORTFALL_RULE, campaign=None)
                self._take(lot, repay, "debt_repayment", "repays an earlier shortfall", owed)
                self._post("debt_repayment", "debt", -repay, "repays an earlier shortfall", owed)

    def hand_over(self, kind: str, reason: str, src: Source) -> Holdings:
        """Give up every open lot, the debt and the lifetime points (to the member this one is
        merged into), each as an entry of `kind`; the caller loaded every open lot."""
        lots = []
        for lot in sorted(self.lots, key=Lot.expiry_key):
            if lot.remaining <= 0:
                continue
            lots.append(replace(lot, earned=lot.remaining, lot_id=None, changed=False))
            self._take(lot, lot.remaining, kind, reason, src)
        held = Holdings(tuple(lots), self.debt, self.lifetime)
        self._post(kind, "debt", -held.debt, reason, src)
        self._post(kind, "lifetime", -held.lifetime, reason, src)
        return held

    def take_over(self, held: Holdings, kind: str, reason: str, src: Source) -> None:
        """Receive what another account handed over: each lot as a new lot of this member with
        the same points, state, and earned, pending-until and expiry instants; the debt as
        debt; the lifetime points as lifetime points."""
        for given in held.lots:
            lot = replace(given, member_id=self.member_id, lot_id=None, changed=False)
            self.lots.append(lot)
            self.new_lots.append(lot)
            self._post(kind, lot.bucket, lot.remaining, reason, src, lot)
        self._post(kind, "debt", held.debt, reason, src)
        self._post(kind, "lifetime", held.lifetime, reason, src)


@dataclass(frozen=True)
class Holdings:
    """What an account handed over: its open lots (as they stood), its debt, its lifetime
    points."""

    lots: tuple[Lot, ...]
    debt: int
    lifetime: int

    @property
    def available(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.state == "available")

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.state == "pending")
