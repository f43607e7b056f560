"""Checking a set of rule files, and building the compiled rule book the service evaluates."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import PurePath

from loyalty.domain.attributes import event_def
from loyalty.domain.catalogue import Catalogue
from loyalty.domain.decisions import (
    AwardPoints,
    Decision,
    GrantReward,
    IssueOffer,
    MultiplyPoints,
    SetTier,
)
from loyalty.domain.errors import RulesInvalid
from loyalty.domain.history import NO_NEEDS, HistoryNeeds
from loyalty.domain.messages import MessageTemplate
from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.domain.policy import ProgramPolicy, RewardDef
from loyalty.engine.check_notifications import notification_problems
from loyalty.engine.compiler import (
    MAX_GROUPS_PER_RULE,
    MAX_RULES_PER_RULESET,
    CompiledSet,
    compile_event,
    count_groups,
)
from loyalty.engine.facts import context_fact, fact_properties, line_facts_for
from loyalty.engine.host import ENGINE, MAX_FACT_PROPERTIES, Hit
from loyalty.engine.known_values import KnownValues
from loyalty.engine.limits import FOLDER, MAX_RULES, screen_files
from loyalty.engine.loader import load_yaml, rules_content_hash
from loyalty.engine.parse_catalogue import parse_catalogue
from loyalty.engine.parse_policy import parse_program, parse_rewards
from loyalty.engine.parse_rules import parse_ruleset
from loyalty.engine.parse_templates import parse_templates
from loyalty.engine.probe import WORKER
from loyalty.engine.problems import Problem, Reporter, did_you_mean
from loyalty.engine.syntax import RuleDef, compares
from loyalty.engine.vocabulary import PRODUCT_FACTS

logger = logging.getLogger(__name__)
NO_CATALOGUE = Catalogue()
POLICY_FILES = ("program", "rewards", "catalogue", "templates")
MAX_CACHED_PROBES = 4096
_validated: OrderedDict[str, str | None] = OrderedDict()
_validated_lock = threading.Lock()


@dataclass
class Analysis:
    """Everything read from a set of files: problems, policy, rules and compiled sets."""

    problems: list[Problem] = field(default_factory=list)
    policy: ProgramPolicy = field(default_factory=ProgramPolicy)
    rules: list[RuleDef] = field(default_factory=list)
    compiled: dict[str, CompiledSet] = field(default_factory=dict)


def analyse(files: Mapping[str, str], version: str = "check", *,
            ignore_windows: bool = False, stored: bool = False) -> Analysis:
    """Read, check and compile a set of rule files, collecting every problem; with
    `ignore_windows` every rule is compiled as if its from/until dates were not there. A
    `stored` version (activated already) is read without the limits on new sets (sizes, rule
    count, nesting, name lengths, what the engine holds), as it was when it was activated:
    a limit added later must not stop the version in force."""
    result = Analysis()
    limits = not stored
    if limits:
        result.problems.extend(screen_files(files))
    if result.problems:  # too large to read, or text that is not text: nothing else is read
        return result
    result.problems.extend(_missing_files(files))
    docs: dict[str, object] = {}
    unreadable: set[str] = set()
    for name in sorted(files):
        report = Reporter(name, limits=limits)
        docs[name] = load_yaml(files[name], report)
        if report.problems:
            unreadable.add(name)
        result.problems.extend(report.problems)
    result.policy = _policy(docs, result.problems, limits=limits)
    known = KnownValues(result.policy)
    rulesets: dict[str, str] = {}
    declared: set[str] = set()
    for name, doc in docs.items():
        if PurePath(name).stem in POLICY_FILES or name in unreadable:
            continue
        report = Reporter(name, known=known, limits=limits)
        ruleset, rules = parse_ruleset(doc, report)
        if ruleset and ruleset in rulesets:
            report.add(1, f"ruleset name '{ruleset}' is already used by {rulesets[ruleset]}")
        elif ruleset:
            rulesets[ruleset] = name
        result.rules.extend(rules)
        declared.update(report.declared)
        result.problems.extend(report.problems)
    if limits:
        result.problems.extend(_too_many(result.rules))
    result.problems.extend(_cross_check(result.rules, result.policy, declared))
    if ignore_windows:
        result.rules = [replace(rule, valid_from=None, valid_until=None)
                        for rule in result.rules]
    _compile(result, version, limits=limits)
    return result


def program_policy(files: Mapping[str, str]) -> ProgramPolicy:
    """The programme a set of files declares (program.yaml, rewards.yaml and catalogue.yaml
    only), without reading or compiling its rules."""
    docs = {name: load_yaml(text, Reporter(name)) for name, text in files.items()
            if PurePath(name).stem in POLICY_FILES}
    return _policy(docs, [])


def _policy(docs: Mapping[str, object], problems: list[Problem], *,
            limits: bool = True) -> ProgramPolicy:
    """The programme (program.yaml) with its reward catalogue (rewards.yaml) and the products
    sold (catalogue.yaml), read before the rules."""
    policy = ProgramPolicy()
    rewards: tuple[RewardDef, ...] = ()
    catalogue: Catalogue | None = None
    templates: tuple[MessageTemplate, ...] = ()
    for name, doc in docs.items():
        report = Reporter(name, limits=limits)
        stem = PurePath(name).stem
        if stem == "program":
            policy = parse_program(doc, report)
        elif stem == "rewards":
            rewards = parse_rewards(doc, report)
        elif stem == "catalogue" and doc is not None:
            catalogue = parse_catalogue(doc, report)
        elif stem == "templates":
            templates = parse_templates(doc, report)
        problems.extend(report.problems)
    return replace(policy, rewards=rewards, catalogue=catalogue, templates=templates)


def _missing_files(files: Mapping[str, str]) -> list[Problem]:
    """A set without program.yaml or without any ruleset file would run no programme at all."""
    stems = {PurePath(name).stem for name in files}
    problems = []
    if "program" not in stems:
        problems.append(
            Problem(FOLDER, None, None, "program.yaml is missing: the currency and tier ladder "
                    "are defined there")
        )
    if not stems - set(POLICY_FILES):
        problems.append(
            Problem(FOLDER, None, None, "no ruleset files: add at least one ruleset such as "
                    "earning.yaml")
        )
    return problems


def _too_many(rules: list[RuleDef]) -> list[Problem]:
    """A set holds at most MAX_RULES rules: the first one past it is the problem."""
    if len(rules) <= MAX_RULES:
        return []
    extra = rules[MAX_RULES]
    return [Problem(extra.file, extra.line, extra.id,
                    f"too many rules: the set has {len(rules):,}, at most {MAX_RULES:,} "
                    "(files are read in name order; this is the first one past the limit)")]


def _cross_check(rules: list[RuleDef], policy: ProgramPolicy, declared: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    first: dict[str, RuleDef] = {}
    for rule in rules:
        if rule.id in first:
            seen = first[rule.id]
            problems.append(
                Problem(
                    rule.file,
                    rule.line,
                    rule.id,
                    f"duplicate id (first used at {seen.file}:{seen.line})",
                )
            )
        else:
            first[rule.id] = rule
    tiers = [level.tier for level in policy.tiers.levels] if policy.tiers else []
    for rule in rules:
        for effect_def in rule.effects:
            effect, line = effect_def.effect, effect_def.line or rule.line
            if isinstance(effect, MultiplyPoints):
                for other in effect.rules:
                    if other not in declared:
                        problems.append(
                            Problem(
                                rule.file,
                                line,
                                rule.id,
                                f"multiply_points names unknown rule '{other}'",
                            )
                        )
            elif isinstance(effect, GrantReward) and policy.reward(effect.reward_id) is None:
                hint = did_you_mean(effect.reward_id, [r.reward_id for r in policy.rewards])
                problems.append(
                    Problem(
                        rule.file,
                        line,
                        rule.id,
                        f"grant_reward names reward '{effect.reward_id}' not in rewards.yaml"
                        + hint,
                    )
                )
            elif isinstance(effect, SetTier) and effect.tier not in tiers:
                problems.append(
                    Problem(
                        rule.file,
                        line,
                        rule.id,
                        f"set_tier names tier '{effect.tier}' not in the ladder (program.yaml)"
                        + did_you_mean(effect.tier, tiers),
                    )
                )
    return (problems + _offers_presented(rules) + _vouchers_presented(rules, policy)
            + notification_problems(rules, policy)
            + _line_multipliers(rules))


def _offers_presented(rules: list[RuleDef]) -> list[Problem]:
    """A rule testing for an offer code no rule of the set issues could never fire."""
    issued = [effect.effect.offer_id for rule in rules for effect in rule.effects
              if isinstance(effect.effect, IssueOffer)]
    folded = {code.casefold() for code in issued}
    problems: list[Problem] = []
    for rule in rules:
        for test in compares(rule.when):
            if test.path != "offers.presented" or not isinstance(test.value, str):
                continue
            if test.value.casefold() not in folded:
                problems.append(Problem(
                    rule.file, test.line, rule.id,
                    f"'offers.presented' can never hold '{test.value}': no rule issues that "
                    "offer (issue_offer)" + did_you_mean(test.value, issued, ignore_case=True),
                ))
    return problems


def _vouchers_presented(rules: list[RuleDef], policy: ProgramPolicy) -> list[Problem]:
    """A voucher is presented with a purchase, for a reward of the catalogue: a rule testing
    for another reward, or reacting to no purchase, tests a list that never holds it."""
    rewards = [reward.reward_id for reward in policy.rewards]
    folded = {reward.casefold() for reward in rewards}
    problems: list[Problem] = []
    for rule in rules:
        for test in compares(rule.when):
            if test.path != "vouchers.presented" or not isinstance(test.value, str):
                continue
            if "purchase" not in rule.events:
                problems.append(Problem(
                    rule.file, test.line, rule.id,
                    f"'vouchers.presented' is always empty for {' and '.join(rule.events)} "
                    "events: only a purchase presents vouchers"))
            elif test.value.casefold() not in folded:
                problems.append(Problem(
                    rule.file, test.line, rule.id,
                    f"'vouchers.presented' can never hold '{test.value}': no reward of that id "
                    "in rewards.yaml" + did_you_mean(test.value, rewards, ignore_case=True)))
    return problems


def _by_line(rule: RuleDef) -> bool:
    """Whether a rule awards points per currency unit or per unit: what has lines."""
    return any(isinstance(e.effect, AwardPoints) and e.effect.fixed is None for e in rule.effects)


def _line_multipliers(rules: list[RuleDef]) -> list[Problem]:
    """A multiplier limited to lines multiplies only awards per currency unit or per unit: one
    naming a rule without such an award (or, naming none, reacting to events no such award
    reacts to) could never add a point."""
    by_id = {rule.id: rule for rule in reversed(rules)}
    problems: list[Problem] = []
    for rule in rules:
        for effect_def in rule.effects:
            effect = effect_def.effect
            if not isinstance(effect, MultiplyPoints) or not effect.lines_only:
                continue
            line = effect_def.line or rule.line
            named = [by_id[name] for name in effect.rules if name in by_id]
            for other in named:
                if not _by_line(other):
                    problems.append(Problem(
                        rule.file, line, rule.id,
                        f"multiply_points on lines names rule '{other.id}', which awards no "
                        "points per currency unit or per unit: a multiplier limited to lines "
                        "does not multiply fixed points, so it would add nothing"))
            if not effect.rules and not any(_by_line(other) and set(other.events) & set(rule.events)
                                            for other in rules):
                problems.append(Problem(
                    rule.file, line, rule.id,
                    "multiply_points on lines would add nothing: no rule reacting to "
                    f"{' or '.join(rule.events)} events awards points per currency unit or per "
                    "unit, and a multiplier limited to lines does not multiply fixed points"))
    return problems


def _compile(result: Analysis, version: str, *, limits: bool = True) -> None:
    by_event: dict[str, list[RuleDef]] = {}
    for rule in sorted(result.rules, key=lambda r: r.sort_key):
        for event in rule.events:
            by_event.setdefault(event, []).append(rule)
    too_complex: set[str] = set()
    for event, rules in sorted(by_event.items()):
        compiled = compile_event(event, rules, version, event_def(result.policy, event),
                                 result.policy.catalogue)
        result.problems.extend(_too_complex(compiled, too_complex))
        properties = fact_properties(compiled)
        if limits and properties > MAX_FACT_PROPERTIES:
            last = rules[-1]
            result.problems.append(Problem(
                last.file, last.line, last.id,
                f"the rules reacting to '{event}' events test too much for the engine: an "
                f"evaluation would carry {properties} values, at most {MAX_FACT_PROPERTIES} "
                "(each rule testing lines counts twice); remove or merge rules, or test one "
                "fact against a list with 'in'"))
            continue
        size = len(rules) + len(compiled.fields.line_rules)
        if size > MAX_RULES_PER_RULESET:
            last = rules[-1]
            result.problems.append(
                Problem(
                    last.file,
                    last.line,
                    last.id,
                    f"ruleset too large for the engine: {size} rules and line tests react to "
                    f"'{event}' events (at most {MAX_RULES_PER_RULESET}); remove or merge rules",
                )
            )
            continue
        result.compiled[event] = compiled
    if result.problems:
        return
    for compiled in result.compiled.values():
        error = _validate(compiled)
        if error is not None:
            first = next(iter(compiled.targets.values())).rule
            result.problems.append(
                Problem(
                    first.file,
                    None,
                    None,
                    f"the engine refused the '{compiled.event_type}' rules: {error}",
                )
            )


def _too_complex(compiled: CompiledSet, reported: set[str]) -> list[Problem]:
    """A problem for each rule (once, whatever its events) the engine could not hold."""
    problems: list[Problem] = []
    for key, definition in compiled.definition.items():
        rule = compiled.owners.get(key)
        groups = count_groups(definition)
        if rule is None or groups <= MAX_GROUPS_PER_RULE or rule.id in reported:
            continue
        reported.add(rule.id)
        problems.append(Problem(
            rule.file, rule.line, rule.id,
            f"conditions too complex for the engine: they make {groups} groups, at most "
            f"{MAX_GROUPS_PER_RULE} fit in one rule (every any, all and none counts, and so does "
            "each test inside a none); split the rule, or test one fact against a list with "
            "'in' or 'not_in'",
        ))
    return problems


def _validate(compiled: CompiledSet) -> str | None:
    """Load the set into a scratch engine in the probe child; cached by what was compiled."""
    key = compiled.event_type + ":" + hashlib.sha256(
        json.dumps(compiled.definition, sort_keys=True).encode()
    ).hexdigest()
    with _validated_lock:
        if key in _validated:
            _validated.move_to_end(key)
            return _validated[key]
    data = _probe_input(compiled.event_type)
    lines = line_facts_for(compiled, data)
    context = [context_fact(compiled, data, {})]
    error = WORKER.probe(compiled.name, compiled.definition, lines, context)
    with _validated_lock:
        _validated[key] = error
        while len(_validated) > MAX_CACHED_PROBES:
            _validated.popitem(last=False)
    return error


def _probe_input(event_type: str) -> EvaluationInput:
    when = datetime(2026, 1, 1, 12, tzinfo=UTC)
    occurrence = Occurrence(
        kind=event_type,
        source_id="probe",
        occurred_at=when,
        total=Decimal("100"),
        lines=(Line("PROBE", "probe", 1, Decimal("100")),),
    )
    member = Member(member_id="probe", birth_date=date(1990, 1, 1), enrolled_at=when)
    return EvaluationInput(occurrence, member, MemberStats(), when)


def check_rules(files: Mapping[str, str]) -> list[Problem]:
    """Every problem in a set of rule files, all at once (empty when the set is valid)."""
    return analyse(files).problems


def build_rulebook(files: Mapping[str, str], version: str, *,
                   ignore_windows: bool = False, stored: bool = False) -> CompiledRuleBook:
    """Check and compile a set of rule files; RulesInvalid lists every problem if any. A
    `stored` version is read without the limits on new sets (see `analyse`)."""
    result = analyse(files, version, ignore_windows=ignore_windows, stored=stored)
    if result.problems:
        raise RulesInvalid(
            f"{len(result.problems)} problem(s) in the rule files",
            details={"problems": [str(p) for p in result.problems]},
        )
    return CompiledRuleBook(version, rules_content_hash(files), result)


class CompiledRuleBook:
    """An activated rule set: programme policy plus the compiled matcher."""

    def __init__(self, version: str, content_hash: str, analysis: Analysis) -> None:
        self.version = version
        self.content_hash = content_hash
        self._policy = analysis.policy
        self._compiled = analysis.compiled
        self.rules: tuple[RuleDef, ...] = tuple(sorted(analysis.rules, key=lambda r: r.sort_key))
        self._needs = {event: HistoryNeeds(frozenset(compiled.fields.event_history),
                                           products=not compiled.fields.paths.isdisjoint(
                                               PRODUCT_FACTS))
                       for event, compiled in self._compiled.items()}

    def warm(self) -> None:
        """Register the compiled rulesets with this process's engine now, so that the first
        evaluation of each does not."""
        for compiled in self._compiled.values():
            ENGINE.register(compiled.name, compiled.definition)

    @property
    def policy(self) -> ProgramPolicy:
        return self._policy

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types at least one rule reacts to."""
        return tuple(sorted(self._compiled))

    @property
    def catalogue(self) -> Catalogue:
        """The products sold (catalogue.yaml); empty when the set has no catalogue."""
        return self._policy.catalogue or NO_CATALOGUE

    def history_needs(self, event_type: str) -> HistoryNeeds:
        """What the rules reacting to `event_type` test of the member's history, so that only
        that is read before they are evaluated."""
        return self._needs.get(event_type, NO_NEEDS)

    def evaluate(self, data: EvaluationInput) -> list[Decision]:
        """The decisions of every rule the snapshot matches, in application order."""
        compiled = self._compiled.get(data.occurrence.kind)
        if compiled is None:
            return []
        line_hits: dict[str, set[int]] = {}

        def context(hits: list[Hit]) -> list[dict[str, object]]:
            for key, fact in hits:
                line_hits.setdefault(key, set()).add(int(fact["line_idx"]))
            return [context_fact(compiled, data, line_hits)]

        _, hits = ENGINE.run(
            compiled.name, compiled.definition, line_facts_for(compiled, data), context
        )
        fired = {key for key, _ in hits}
        decisions: list[Decision] = []
        for key, target in compiled.targets.items():
            if key not in fired:
                continue
            rule = target.rule
            for position, effect_def in enumerate(rule.effects):
                matched: tuple[int, ...] = ()
                if position in target.line_awards:
                    matched = tuple(sorted(line_hits.get(target.line_awards[position], ())))
                    if not matched:
                        continue
                elif isinstance(effect_def.effect, GrantReward):  # a gift for these lines
                    matched = tuple(sorted(set().union(
                        *(line_hits.get(test, ()) for test in target.line_tests))))
                decisions.append(
                    Decision(
                        rule_id=rule.id,
                        ruleset=rule.ruleset,
                        ruleset_version=self.version,
                        effect=effect_def.effect,
                        reason=rule.description,
                        priority=rule.priority,
                        order=len(decisions),
                        campaign=rule.campaign,
                        limit=rule.limit,
                        matched_lines=matched,
                        holdout=rule.holdout,
                    )
                )
        return decisions
