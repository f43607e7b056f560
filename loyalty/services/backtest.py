"""Backtest: what a draft rule set would have done over a recorded period, and what it costs,
against the rules that were in force (or a stored version), writing nothing.

Both sides replay the same history through the one decision path from the same starting
state: the history before the period is replayed once with the versions that were in force,
then the state is forked and each side replays the period with its own rules.
"""

from __future__ import annotations

import heapq
import multiprocessing
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty import engine as rule_engine
from loyalty.domain.decisions import RuleBook
from loyalty.domain.errors import RulesInvalid, ValidationFailed
from loyalty.domain.experiments import CONTROL
from loyalty.domain.ledger import ADJUSTMENT_RULE, CLAWBACK_RULE
from loyalty.services.context import ServiceContext
from loyalty.services.replay import MemoryState, Step, replay_item
from loyalty.store.history import HistoryFilter, HistoryItem, HistoryReader

SAMPLES = 5
MOST_AFFECTED = 10
TIER_DIFFERENCES = 20
CHECK_EXAMPLES = 5
Progress = Callable[[int], None]


@dataclass
class Side:
    """What one side of the backtest issued over the period."""

    points_issued: int = 0
    points_clawed_back: int = 0
    points_spent: int = 0
    rewards: int = 0
    vouchers: int = 0
    offers_issued: int = 0
    offers_used: int = 0
    redemptions_refused: int = 0
    tier_changes: int = 0
    #: decisions set aside for a rule's control group (recorded aside, never written)
    held_out: int = 0
    stock_used: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_rule: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_tier: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_day: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    per_member: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, step: Step) -> None:
        if step.refused is not None:
            if step.item.source_type == "redemption":
                self.redemptions_refused += 1
            return
        day = step.item.occurred_at.date().isoformat()
        for changes in step.changes:
            for rule_id, points in changes.points_by_rule.items():
                if rule_id == CLAWBACK_RULE:
                    self.points_clawed_back -= points
                elif rule_id.startswith("rewards.") or (rule_id == ADJUSTMENT_RULE
                                                        and points < 0):
                    self.points_spent -= points  # a desk's removal takes points as spending does
                    continue
                else:
                    self.points_issued += points
                self.per_rule[rule_id] += points
                self.per_tier[step.tier_before] += points
                self.per_day[day] += points
                self.per_member[step.item.member_id] += points
            for reward in changes.rewards:
                self.vouchers += 1
                if reward["source_type"] != "redemption":
                    self.rewards += reward["quantity"]
            for reward_id, quantity in changes.stock.items():
                self.stock_used[reward_id] += quantity
            self.offers_issued += len(changes.offers)
            self.offers_used += len(changes.offers_used)
            self.tier_changes += len(changes.tier_changes)
            self.held_out += sum(1 for x in changes.experiments if x["grp"] == CONTROL)

    @property
    def net_points(self) -> int:
        return self.points_issued - self.points_clawed_back


def signature(step: Step) -> tuple[Any, ...]:
    """What was decided for an occurrence, comparable between the two sides (voucher codes,
    which are random, left out)."""
    if step.refused is not None:
        return ("refused", step.refused)
    found = []
    for changes in step.changes:
        for view in changes.outcome.decisions:
            found.append((view.get("rule_id") or "", view.get("effect") or "",
                          view.get("points", 0)))
        for reward in changes.rewards:
            found.append((reward.get("rule_id") or "", "reward", reward["quantity"]))
    return tuple(sorted(found))


def decision_lines(step: Step) -> list[dict[str, Any]]:
    if step.refused is not None:
        return [{"rule_id": "", "effect": "refused", "reason": step.refused}]
    views: list[dict[str, Any]] = []
    for changes in step.changes:
        for view in changes.outcome.decisions:
            kept: dict[str, Any] = {k: view[k] for k in ("rule_id", "effect", "points", "reason")
                                    if k in view}
            views.append(kept)
    return views


def step_points(step: Step) -> int:
    return sum(points for changes in step.changes
               for rule_id, points in changes.points_by_rule.items()
               if not rule_id.startswith("rewards."))


class Backtest:
    """One run: the draft, what it is compared with, the period, and the report it builds."""

    def __init__(self, ctx: ServiceContext, draft_files: Mapping[str, str], *,
                 start: datetime, end: datetime, against: int | None = None,
                 ignore_windows: bool = False, which: HistoryFilter | None = None,
                 label: str = "draft") -> None:
        if end < start:
            raise ValidationFailed.on_fields({"to": ["The period ends before it starts."]})
        problems = [str(p) for p in rule_engine.check_rules(draft_files)]
        if problems:
            raise RulesInvalid(f"{len(problems)} problem(s) in the draft rule files",
                               details={"problems": problems})
        self.ctx = ctx
        self.draft = rule_engine.build_rulebook(draft_files, "draft",
                                                ignore_windows=ignore_windows)
        self.draft_label = f"{label} ({rule_engine.rules_content_hash(draft_files)[:10]})"
        self.start, self.end = start, end
        self.ignore_windows = ignore_windows
        self.which = which or HistoryFilter()
        self._versions = self._stored_versions()
        self.against_version = against
        if against is not None and str(against) not in self._versions:
            raise ValidationFailed.on_fields({"against": [f"There is no rules version {against}."]})
        self._books: dict[str, RuleBook] = {}
        self.in_force_used: set[str] = set()

    def _stored_versions(self) -> dict[str, tuple[datetime, dict[str, str]]]:
        with self.ctx.uow(read_only=True) as uow:
            return {str(row.version): (row.effective_at, dict(row.files))
                    for row in uow.programme.rule_versions_with_files()}

    def book(self, version: str) -> RuleBook:
        book = self._books.get(version)
        if book is None:
            book = rule_engine.build_rulebook(self._versions[version][1], version,
                                              stored=True)
            self._books[version] = book
        return book

    def recorded_book(self, item: HistoryItem) -> RuleBook:
        """The version that was in force for a recorded occurrence."""
        version = item.version
        if version is None or version not in self._versions:
            earlier = [v for v, (at, _) in self._versions.items() if at <= item.occurred_at]
            version = max(earlier or self._versions, key=int)
        return self.book(version)

    def run(self, progress: Progress | None = None, *, samples: int = SAMPLES) -> dict[str, Any]:
        recorded_mode = self.against_version is None
        reader = HistoryReader(self.ctx.engine, self.which, with_recorded=recorded_mode)
        returned = reader.returned_purchases()
        presented = reader.presented_vouchers()
        prefix: MemoryState | None = MemoryState(returned, presented=presented)
        base = draft = MemoryState(returned, presented=presented)
        sides = {"draft": Side(), "against": Side()}
        counts: dict[str, int] = defaultdict(int)
        members: set[str] = set()
        differing = 0
        sample_heap: list[tuple[int, int, dict[str, Any]]] = []
        check = {"compared": 0, "differences": 0, "examples": []}
        seen = 0
        for item in reader.items():
            seen += 1
            if progress is not None and seen % 500 == 0:
                progress(500)
            if item.occurred_at > self.end:
                continue
            in_force = self.recorded_book(item)
            if item.occurred_at < self.start:
                if prefix is not None:
                    replay_item(prefix, in_force, item)
                else:
                    replay_item(base, in_force, item)
                    replay_item(draft, in_force, item)
                continue
            if prefix is not None:  # the period starts: both sides from the same state
                base, draft, prefix = prefix, prefix.fork(), None
            against = in_force if recorded_mode else self.book(str(self.against_version))
            self.in_force_used.add(against.version)
            base_step = replay_item(base, against, item)
            draft_step = replay_item(draft, self.draft, item)
            sides["against"].add(base_step)
            sides["draft"].add(draft_step)
            counts[_kind(item)] += 1
            members.add(item.member_id)
            if recorded_mode:
                self._check(item, base_step, check)
            if signature(base_step) != signature(draft_step):
                differing += 1
                gap = abs(step_points(draft_step) - step_points(base_step))
                entry = (gap, -item.seq, _sample(item, base_step, draft_step))
                if len(sample_heap) < samples:
                    heapq.heappush(sample_heap, entry)
                elif entry[:2] > sample_heap[0][:2]:
                    heapq.heapreplace(sample_heap, entry)
        if progress is not None:
            progress(seen % 500)
        end_states = (base, draft) if prefix is None else (prefix, prefix)
        return self._report(sides, counts, len(members), differing,
                            [s for _, _, s in sorted(sample_heap, reverse=True)],
                            check if recorded_mode else None, *end_states)

    @staticmethod
    def _check(item: HistoryItem, step: Step, check: dict[str, Any]) -> None:
        """Does replaying the version in force give what the ledger recorded?"""
        check["compared"] += 1
        replayed: dict[str, int] = defaultdict(int)
        for changes in step.changes:
            for rule_id, points in changes.points_by_rule.items():
                replayed[rule_id] += points
        got = {k: v for k, v in replayed.items() if v}
        recorded = {k: v for k, v in item.recorded.items() if v}
        if got != recorded or step.refused is not None:
            check["differences"] += 1
            if len(check["examples"]) < CHECK_EXAMPLES:
                check["examples"].append(
                    f"{item.source_id} ({item.member_id}): recorded {recorded}, replayed "
                    f"{got if step.refused is None else 'refused: ' + step.refused}")

    def _report(self, sides: dict[str, Side], counts: dict[str, int], members: int,
                differing: int, samples: list[dict[str, Any]], check: dict[str, Any] | None,
                base: MemoryState, draft: MemoryState) -> dict[str, Any]:
        value = self.draft.policy.point_value
        currency = self.draft.policy.currency
        d, a = sides["draft"], sides["against"]

        def cost(points: int) -> str | None:
            return None if value is None else str((value * points).quantize(Decimal("0.01")))

        def totals(side: Side) -> dict[str, Any]:
            return {
                "points_issued": side.points_issued,
                "points_clawed_back": side.points_clawed_back,
                "net_points": side.net_points, "cost": cost(side.net_points),
                "rewards": side.rewards, "vouchers": side.vouchers,
                "offers_issued": side.offers_issued, "offers_used": side.offers_used,
                "redemptions_refused": side.redemptions_refused,
                "tier_changes": side.tier_changes, "held_out": side.held_out,
                "stock_used": dict(sorted(side.stock_used.items())),
            }

        def compare(key: str, draft_map: Mapping[str, int], against_map: Mapping[str, int],
                    with_cost: bool) -> list[dict[str, Any]]:
            rows = []
            for name in sorted(set(draft_map) | set(against_map)):
                row: dict[str, Any] = {key: name, "draft_points": draft_map.get(name, 0),
                                       "against_points": against_map.get(name, 0)}
                if key != "date":
                    row["difference"] = row["draft_points"] - row["against_points"]
                if with_cost:
                    row["draft_cost"] = cost(row["draft_points"])
                    row["against_cost"] = cost(row["against_points"])
                rows.append(row)
            return rows

        affected = heapq.nlargest(
            MOST_AFFECTED, set(d.per_member) | set(a.per_member),
            key=lambda m: (abs(d.per_member.get(m, 0) - a.per_member.get(m, 0)), m))
        most = [{"member_id": m, "draft_points": d.per_member.get(m, 0),
                 "against_points": a.per_member.get(m, 0),
                 "difference": d.per_member.get(m, 0) - a.per_member.get(m, 0)}
                for m in affected if d.per_member.get(m, 0) != a.per_member.get(m, 0)]
        tiers = self._tier_differences(base, draft)
        if check is not None:
            against_label = ("the versions in force ("
                             + ", ".join(sorted(self.in_force_used, key=int)) + ")")
        else:
            against_label = f"version {self.against_version}"
        return {
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat(),
                       "ignore_windows": self.ignore_windows,
                       "shard": f"{self.which.shard_index}/{self.which.shard_count}"},
            "draft": {"label": self.draft_label},
            "against": {"label": against_label},
            "currency": currency,
            "point_value": None if value is None else str(value),
            "occurrences": {"purchases": counts["purchases"], "returns": counts["returns"],
                            "events": counts["events"], "redemptions": counts["redemptions"],
                            "adjustments": counts["adjustments"], "members": members},
            "totals": {"draft": totals(d), "against": totals(a)},
            "differing_decisions": differing,
            "points_difference": d.net_points - a.net_points,
            "cost_difference": cost(d.net_points - a.net_points),
            "per_rule": compare("rule_id", d.per_rule, a.per_rule, True),
            "per_tier": compare("tier", d.per_tier, a.per_tier, False),
            "per_day": compare("date", d.per_day, a.per_day, True),
            "tier_differences": tiers,
            "members_most_affected": most,
            "samples": samples,
            "replay_check": check,
            "notes": self._notes(),
        }

    def _notes(self) -> list[str]:
        notes = ["what the sweep did (tier reviews, lifecycle stages, VIP ranks) is replayed as "
                 "recorded; its events are decided again with each side's rules"]
        if self.which.shard_count > 1:
            notes.append(f"run as shard {self.which.shard_index}/{self.which.shard_count}: "
                         "campaign budgets and reward stock, which all members share, are "
                         "counted within this shard only")
        if self.ignore_windows:
            notes.append("the draft's rules are evaluated as if their from/until dates "
                         "included the whole period")
        return notes

    def _tier_differences(self, base: MemoryState, draft: MemoryState) -> dict[str, Any]:
        found = []
        against = self.book(str(self.against_version)) if self.against_version else None
        for member_id in sorted(draft.members):
            left, right = draft.members[member_id].holder.profile, base.members.get(member_id)
            if right is None:
                continue
            other = right.holder.profile
            draft_vip = _vip(self.draft, left.vip, left.tier, left.tags)
            against_vip = _vip(against, other.vip, other.tier, other.tags)
            if left.tier != other.tier or draft_vip != against_vip:
                found.append({"member_id": member_id, "draft_tier": left.tier,
                              "against_tier": other.tier, "draft_vip": draft_vip,
                              "against_vip": against_vip})
        return {"count": len(found), "members": found[:TIER_DIFFERENCES]}


def _vip(book: RuleBook | None, vip: bool, tier: str, tags: tuple[str, ...]) -> bool:
    """VIP status as the sweep ranks it, kept only where the book's VIP tiers or tags allow."""
    if book is None or not vip:
        return vip
    policy = book.policy.vip
    return (not policy.tiers or tier in policy.tiers) or bool(set(policy.tags) & set(tags))


def _kind(item: HistoryItem) -> str:
    if item.source_type in ("redemption", "adjustment", "transfer"):
        return f"{item.source_type}s"
    if item.kind in ("purchase", "return"):
        return f"{item.kind}s"
    return "events"


def _sample(item: HistoryItem, base: Step, draft: Step) -> dict[str, Any]:
    explanation = [f"{item.kind} {item.source_id} of {item.member_id} on "
                   f"{item.occurred_at.isoformat()}:"]
    for label, step in (("in force", base), ("draft", draft)):
        views = decision_lines(step)
        if not views:
            explanation.append(f"{label}: no rule fired")
        for view in views:
            points = f" ({view['points']} points)" if "points" in view else ""
            explanation.append(f"{label}: {view.get('rule_id') or view['effect']}{points}: "
                               f"{view.get('reason', '')}")
    return {"source_id": item.source_id, "member_id": item.member_id, "kind": item.kind,
            "occurred_at": item.occurred_at.isoformat(),
            "points_difference": step_points(draft) - step_points(base),
            "draft": decision_lines(draft), "against": decision_lines(base),
            "explanation": explanation}


def backtest(ctx: ServiceContext, draft_files: Mapping[str, str], *, start: datetime,
             end: datetime, against: int | None = None, ignore_windows: bool = False,
             which: HistoryFilter | None = None, label: str = "draft",
             progress: Progress | None = None) -> dict[str, Any]:
    """Replay the period's recorded history against the draft and the rules in force (or
    version `against`), and report the difference. Nothing is written."""
    run = Backtest(ctx, draft_files, start=start, end=end, against=against,
                   ignore_windows=ignore_windows, which=which, label=label)
    return run.run(progress)


def history_size(ctx: ServiceContext, which: HistoryFilter | None = None) -> int:
    return HistoryReader(ctx.engine, which).count()


def _shard_job(args: tuple[str, dict[str, str], datetime, datetime, int | None, bool, int, int,
                           str]) -> dict[str, Any]:
    """One shard of a parallel backtest, in its own process with its own database pool."""
    from loyalty.app import build_context  # the app imports this module: import when run
    from loyalty.config import Settings

    url, files, start, end, against, ignore_windows, index, count, label = args
    ctx = build_context(Settings.from_env(database_url=url))
    try:
        return backtest(ctx, files, start=start, end=end, against=against,
                        ignore_windows=ignore_windows, label=label,
                        which=HistoryFilter(shard_index=index, shard_count=count))
    finally:
        ctx.engine.dispose()


def backtest_parallel(ctx: ServiceContext, draft_files: Mapping[str, str], *, jobs: int,
                      start: datetime, end: datetime, against: int | None = None,
                      ignore_windows: bool = False, label: str = "draft") -> dict[str, Any]:
    """The backtest split by member into `jobs` shards run side by side, one report."""
    Backtest(ctx, draft_files, start=start, end=end, against=against)  # refuse bad input here
    url = ctx.engine.url.render_as_string(hide_password=False)
    work = [(url, dict(draft_files), start, end, against, ignore_windows, k, jobs, label)
            for k in range(1, jobs + 1)]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        reports = list(pool.map(_shard_job, work))
    return merge_reports(reports)


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from the reports of the shards of one backtest (each member is in one
    shard: sums add up; top lists are the top of the shards' tops)."""
    first = reports[0]
    value = None if first["point_value"] is None else Decimal(first["point_value"])

    def cost(points: int) -> str | None:
        return None if value is None else str((value * points).quantize(Decimal("0.01")))

    def summed(key: str, name: str, with_cost: bool) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for report in reports:
            for row in report[key]:
                into = rows.setdefault(row[name], {name: row[name], "draft_points": 0,
                                                   "against_points": 0})
                into["draft_points"] += row["draft_points"]
                into["against_points"] += row["against_points"]
        for row in rows.values():
            if name != "date":
                row["difference"] = row["draft_points"] - row["against_points"]
            if with_cost:
                row["draft_cost"] = cost(row["draft_points"])
                row["against_cost"] = cost(row["against_points"])
        return [rows[k] for k in sorted(rows)]

    def totals(side: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        stock: dict[str, int] = defaultdict(int)
        for report in reports:
            for key, number in report["totals"][side].items():
                if key == "stock_used":
                    for reward, quantity in number.items():
                        stock[reward] += quantity
                elif key != "cost":
                    merged[key] = merged.get(key, 0) + number
        merged["cost"] = cost(merged["net_points"])
        merged["stock_used"] = dict(sorted(stock.items()))
        return merged

    draft, against = totals("draft"), totals("against")
    samples = sorted((s for r in reports for s in r["samples"]),
                     key=lambda s: (abs(s["points_difference"]), s["source_id"]), reverse=True)
    affected = sorted((m for r in reports for m in r["members_most_affected"]),
                      key=lambda m: (abs(m["difference"]), m["member_id"]), reverse=True)
    tiers = sorted((m for r in reports for m in r["tier_differences"]["members"]),
                   key=lambda m: m["member_id"])
    checks = [r["replay_check"] for r in reports if r["replay_check"] is not None]
    count = len(reports)
    return {
        **first,
        "period": {**first["period"], "shard": f"{count} shards"},
        "against": {"label": first["against"]["label"] if count == 1 else _union_label(
            [r["against"]["label"] for r in reports])},
        "occurrences": {key: sum(r["occurrences"][key] for r in reports)
                        for key in first["occurrences"]},
        "totals": {"draft": draft, "against": against},
        "differing_decisions": sum(r["differing_decisions"] for r in reports),
        "points_difference": draft["net_points"] - against["net_points"],
        "cost_difference": cost(draft["net_points"] - against["net_points"]),
        "per_rule": summed("per_rule", "rule_id", True),
        "per_tier": summed("per_tier", "tier", False),
        "per_day": summed("per_day", "date", True),
        "tier_differences": {"count": sum(r["tier_differences"]["count"] for r in reports),
                             "members": tiers[:TIER_DIFFERENCES]},
        "members_most_affected": affected[:MOST_AFFECTED],
        "samples": samples[:SAMPLES],
        "replay_check": None if not checks else {
            "compared": sum(c["compared"] for c in checks),
            "differences": sum(c["differences"] for c in checks),
            "examples": [e for c in checks for e in c["examples"]][:CHECK_EXAMPLES]},
        "notes": [*(n for n in first["notes"] if not n.startswith("run as shard")),
                  f"run as {count} shards side by side: campaign budgets and reward stock, "
                  "which all members share, are counted within each shard"],
    }


def _union_label(labels: list[str]) -> str:
    """`the versions in force (1, 2)` from the shards' labels."""
    versions: set[str] = set()
    for label in labels:
        if not label.startswith("the versions in force ("):
            return label
        versions.update(label[len("the versions in force ("):-1].split(", "))
    return "the versions in force (" + ", ".join(sorted(versions - {""}, key=int)) + ")"

