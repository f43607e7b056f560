"""Deciding a transfer of points between two members, writing nothing: what the till's
transfer and a replay of it both run. No rule decides a transfer; program.yaml `transfers:`
limits it (checked by the caller, at the till only: a replay moves what was moved)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain.errors import InsufficientPoints
from loyalty.domain.ledger import TRANSFER_RULE, Piece, Source
from loyalty.domain.model import Occurrence
from loyalty.services.decide import Changes, Holder, Outcome, State

OUT, IN = "transfer_out", "transfer_in"


def _changes(book_version: str, member: Holder, kind: str, transfer_id: str, at: datetime,
             account: Any, points: int, reason: str) -> Changes:
    tier = member.profile.tier
    out = Outcome(tier_before=tier, tier_after=tier)
    out.decisions.append({"rule_id": TRANSFER_RULE, "ruleset": "program",
                          "ruleset_version": book_version, "effect": kind, "points": points,
                          "reason": reason})
    occurrence = Occurrence(kind=kind, source_id=transfer_id, occurred_at=at)
    return Changes(member.member_id, occurrence, book_version, account, out, history="transfer")


def out_reason(to_member_id: str, reason: str | None) -> str:
    return f"given to member {to_member_id}" + (f": {reason}" if reason else "")


def in_reason(from_member_id: str, reason: str | None) -> str:
    return f"received from member {from_member_id}" + (f": {reason}" if reason else "")


def decide_transfer_out(book_version: str, state: State, giver: Holder, transfer_id: str,
                        points: int, to_member_id: str, reason: str | None, actor: str | None,
                        at: datetime) -> tuple[Changes, list[Piece]]:
    """Take `points` of the giver's available points (pending ones stay), soonest-expiring
    first; refused (nothing changes) when too few are available. Returns the changes and the
    pieces taken, each with its lot's instants."""
    account = state.account(giver, as_of=None)
    account.settle(at, Source("transfer", transfer_id, at, ruleset_version=book_version))
    if points > account.available:
        raise InsufficientPoints(f"{points} points to give, {account.available} available",
                                 details={"required": points, "available": account.available})
    text = out_reason(to_member_id, reason)
    source = Source("transfer", transfer_id, at, rule_id=TRANSFER_RULE,
                    ruleset_version=book_version, actor=actor)
    pieces = account.give(points, text, source, kind=OUT)
    return _changes(book_version, giver, OUT, transfer_id, at, account, -points, text), pieces


def decide_transfer_in(book_version: str, state: State, receiver: Holder, transfer_id: str,
                       pieces: list[Piece], from_member_id: str, reason: str | None,
                       actor: str | None, at: datetime) -> Changes:
    """Give the receiver the pieces as lots of their own, each expiring when it did."""
    account = state.account(receiver, as_of=at)
    account.settle(at, Source("transfer", transfer_id, at, ruleset_version=book_version))
    text = in_reason(from_member_id, reason)
    source = Source("transfer", transfer_id, at, rule_id=TRANSFER_RULE,
                    ruleset_version=book_version, actor=actor)
    account.receive(pieces, text, source, kind=IN)
    points = sum(piece.points for piece in pieces)
    return _changes(book_version, receiver, IN, transfer_id, at, account, points, text)


def pieces_data(pieces: list[Piece]) -> list[dict[str, Any]]:
    """The pieces as stored with the transfer (ISO instants), for a replay."""
    return [{"points": p.points, "earned_at": p.earned_at.isoformat(),
             "pending_until": p.pending_until.isoformat(),
             "expires_at": None if p.expires_at is None else p.expires_at.isoformat()}
            for p in pieces]


def pieces_from(data: list[dict[str, Any]]) -> list[Piece]:
    return [Piece(int(d["points"]), datetime.fromisoformat(d["earned_at"]),
                  datetime.fromisoformat(d["pending_until"]),
                  None if d.get("expires_at") is None
                  else datetime.fromisoformat(d["expires_at"])) for d in data]
