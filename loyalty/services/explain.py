"""Explaining what rules decide for a stored member, through the decision path itself.

The member's recorded history is replayed in memory up to the occurrence (with the versions
that were in force), so the statistics, limit usage, balances and tier are exactly what the
till saw then; the occurrence is then decided with the rules asked about. Explaining a recorded
occurrence with the version that recorded it gives what was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from loyalty import engine as rule_engine
from loyalty.domain.decisions import Decision, RuleBook
from loyalty.domain.errors import UnknownMember, ValidationFailed
from loyalty.domain.model import EvaluationInput, Occurrence
from loyalty.services.context import ServiceContext
from loyalty.services.decide import member_stats
from loyalty.services.limits import limit_phrase, period_key
from loyalty.services.replay import MemoryState, Step, replay_item, see_value
from loyalty.services.state import holder_of
from loyalty.store.history import (
    HistoryFilter,
    HistoryItem,
    HistoryReader,
    SharedCounters,
    replay_codes,
)


class _Books:
    """Rule books of stored versions, built once each."""

    def __init__(self, ctx: ServiceContext) -> None:
        with ctx.uow(read_only=True) as uow:
            self.versions = {str(r.version): (r.effective_at, dict(r.files))
                             for r in uow.programme.rule_versions_with_files()}
        self.built: dict[str, RuleBook] = {}

    def for_item(self, item: HistoryItem) -> RuleBook:
        version = item.version
        if version is None or version not in self.versions:
            earlier = [v for v, (at, _) in self.versions.items() if at <= item.occurred_at]
            version = max(earlier or self.versions, key=int)
        book = self.built.get(version)
        if book is None:
            book = rule_engine.build_rulebook(self.versions[version][1], version,
                                              stored=True)
            self.built[version] = book
        return book


def _locate(ctx: ServiceContext, source_id: str) -> tuple[str, int]:
    """The member and history position of the occurrence behind a source id the ledger names
    (`T-1#tier` names purchase T-1's reaction)."""
    with ctx.uow(read_only=True) as uow:
        found = uow.history.locate(source_id.split("#", 1)[0])
    if found is None:
        raise ValidationFailed(f"nothing recorded as {source_id!r}",
                               details={"source_id": source_id})
    return found


def find_recorded(ctx: ServiceContext, source_id: str) -> HistoryItem:
    """The recorded occurrence behind a source id: a purchase, return, event, enrolment,
    sweep event, redemption or adjustment."""
    member_id, seq = _locate(ctx, source_id)
    reader = HistoryReader(ctx.engine, HistoryFilter(member_id=member_id))
    return next(reader.items(after_seq=seq - 1, until_seq=seq))


def replayed(ctx: ServiceContext, books: _Books, member_id: str, *,
             until_seq: int | None) -> tuple[MemoryState, HistoryItem | None]:
    """The member's state just before history entry `until_seq` (None: after all of it),
    and that entry. Budgets and stock are all members' as recorded at each instant."""
    state = MemoryState(shared=SharedCounters(ctx.engine))
    reader = HistoryReader(ctx.engine, HistoryFilter(member_id=member_id))
    for item in reader.items(until_seq=until_seq):
        if item.seq == until_seq:
            return state, item
        replay_item(state, books.for_item(item), item)
    return state, None


def explain_recorded(ctx: ServiceContext, source_id: str,
                     book: RuleBook | None = None) -> tuple[dict[str, Any], HistoryItem]:
    """Explain a recorded occurrence with `book` (default: the version that recorded it)."""
    member_id, seq = _locate(ctx, source_id)
    books = _Books(ctx)
    state, item = replayed(ctx, books, member_id, until_seq=seq)
    assert item is not None
    return _explain(state, book or books.for_item(item), item), item


def explain_for_member(ctx: ServiceContext, book: RuleBook, member_id: str,
                       occurrence: Occurrence) -> dict[str, Any]:
    """Explain an occurrence that did not happen, for a stored member as they stand."""
    with ctx.uow(read_only=True) as uow:
        row = uow.members.get(member_id)
    if row is None:
        raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
    state, _ = replayed(ctx, _Books(ctx), member_id, until_seq=None)
    if member_id not in state.members:  # a member with no history: as stored
        with ctx.uow(read_only=True) as uow:
            holder = holder_of(uow, row)
        state.enrol(holder.profile, holder.profile.tags, holder.profile.tier)
    if occurrence.vouchers:  # presented as the replayed history holds them
        with ctx.uow(read_only=True) as uow:
            codes = replay_codes(uow.connection, occurrence.vouchers)
        occurrence = replace(occurrence, vouchers=tuple(codes.get(code, code)
                                                        for code in occurrence.vouchers))
    item = HistoryItem(seq=0, member_id=member_id, source_type=_source_type(occurrence),
                       source_id=occurrence.source_id, occurred_at=occurrence.occurred_at,
                       kind=occurrence.kind, version=book.version, occurrence=occurrence,
                       profile_row=row, values={"value_segment": row.value_segment,
                                                "clv": row.clv,
                                                "potential_value": row.potential_value})
    return _explain(state, book, item)


def _source_type(occurrence: Occurrence) -> str:
    return "transaction" if occurrence.kind in ("purchase", "return") else "event"


def _explain(state: MemoryState, book: RuleBook, item: HistoryItem) -> dict[str, Any]:
    matched: list[Decision] = []
    usage: dict[tuple[str, str], int] = {}
    memory = state.members.get(item.member_id)
    occurrence = item.occurrence
    if (memory is not None
            and item.source_type not in ("redemption", "adjustment", "transfer")
            and item.kind != "return"):
        holder = memory.holder
        see_value(holder, item)
        held = state.vouchers(occurrence.vouchers)
        occurrence = replace(occurrence, voucher_rewards=tuple(
            held[code].reward_id for code in occurrence.vouchers if code in held))
        stats = member_stats(book, state, holder, occurrence)
        matched = list(book.evaluate(EvaluationInput(occurrence, holder.profile, stats,
                                                     occurrence.occurred_at)))
        usage = dict(memory.usage)
    step = replay_item(state, book, item)
    return explanation(book, step, matched, usage)


def explanation(book: RuleBook, step: Step, matched: Sequence[Decision],
                usage: dict[tuple[str, str], int]) -> dict[str, Any]:
    """The decisions of a step, in plain language, with the rules a limit or budget stopped."""
    views = [view for changes in step.changes for view in changes.outcome.decisions]
    held = {view.get("rule_id") for view in views if view.get("held_out")}
    applied = {view.get("rule_id") for view in views} - held
    kept = [d for d in matched if d.rule_id in applied]
    points = {i: view["points"] for i, view in enumerate(views[:len(kept)]) if "points" in view}
    lines = rule_engine.explain(kept, points, currency=book.policy.currency)
    for view in views[len(kept):]:
        amount = f" ({view['points']} points)" if "points" in view else ""
        lines.append(f"{view.get('rule_id')}: {view.get('reason', '')}{amount}")
    if step.refused is not None:
        lines.append(f"refused: {step.refused}")
    if not views and step.refused is None:
        lines = [f"No rule fired for this {step.item.kind} event."]
    notes: list[str] = []
    for decision in matched:
        limit = decision.limit
        if decision.rule_id in applied or decision.rule_id in held or limit is None:
            continue
        if limit.times is not None:
            used = usage.get((decision.rule_id, period_key(limit.period,
                                                           step.item.occurrence)), 0)
            if used >= limit.times:
                notes.append(f"{decision.rule_id} matched, but its limit "
                             f"({limit_phrase(limit)}) is "
                             f"reached (used {used}): it would not apply for this member")
                continue
        if limit.budget_points is not None:
            notes.append(f"{decision.rule_id} matched, but its budget of "
                         f"{limit.budget_points} points is spent: it would not apply")
    return {"ruleset_version": book.version, "decisions": views, "lines": lines,
            "notes": sorted(set(notes), key=notes.index)}
