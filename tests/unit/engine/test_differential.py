"""The compiled durable_rules set agrees with a small reference evaluator of the rule language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.domain.decisions import AwardPoints
from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.engine import build_rulebook, check_rules

DATES = [date(2026, 1, 1), date(2026, 6, 15), date(2026, 12, 24), date(2027, 3, 1)]
TEXT = {
    "member.tier": ["member", "silver", "gold"],
    "member.region": ["east", "west"],
    "event.channel": ["store", "web"],
    "event.store": ["SH-001", "BJ-002"],
}
NUMBER = {
    "event.total": [0, 99.5, 100, 1000],
    "stats.spend_30d": [0, 500, 1000.25],
    "member.age": [18, 30, 45],
    "stats.days_since_last_purchase": [0, 30, 90],
    "event.month": [1, 6, 12],
    "event.hour": [0, 12, 23],
}
LISTS = {
    "member.tags": ["a", "b"],
    "offers.presented": ["X1", "X2"],
    "stats.categories_bought": ["tv"],
}
LINE_TEXT = {
    "line.sku": ["FRIDGE-1", "FRIDGE-2", "TV-1", "FR"],
    "line.category": ["appliances", "fridge", "kitchen"],
}
LINE_NUMBER = {"line.quantity": [1, 2, 3], "line.amount": [50, 100, 999.99]}
ATTRIBUTE_VALUES: list[Any] = ["lapsed", "declining", 5, 2.5, True]


WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def date_number(day: date) -> tuple[int, int, int]:
    """The reference order of dates (independent of the engine's YYYYMMDD encoding)."""
    return (day.year, day.month, day.day)


def attribute_text(value: Any) -> str | None:
    if value is None:
        return None
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def attribute_number(value: Any) -> Decimal | None:
    if value is None or value is True or value is False or isinstance(value, str):
        return None
    return Decimal(str(value))


def snapshot_facts(data: EvaluationInput) -> dict[str, Any]:
    """The facts of a snapshot computed from its raw fields, as the rule language defines them."""
    occ, member, stats = data.occurrence, data.member, data.stats
    day = occ.occurred_at.date()
    age = None
    if member.birth_date is not None:
        born = member.birth_date
        age = day.year - born.year - (1 if (day.month, day.day) < (born.month, born.day) else 0)
    facts: dict[str, Any] = {
        "event.total": occ.total,
        "event.store": occ.store_id,
        "event.channel": occ.channel,
        "event.date": date_number(day),
        "event.weekday": WEEKDAY_NAMES[day.weekday()],
        "event.month": day.month,
        "event.hour": occ.occurred_at.hour,
        "offers.presented": list(occ.offer_codes),
        "member.tier": member.tier,
        "member.vip": member.vip,
        "member.age": age,
        "member.region": member.region,
        "member.tags": list(member.tags),
        "stats.spend_30d": stats.spend_30d,
        "stats.days_since_last_purchase": stats.days_since_last_purchase,
        "stats.categories_bought": list(stats.categories_bought),
    }
    for name, value in occ.attributes.items():
        facts[f"event.attributes.{name}"] = value
    return facts


def line_facts(line: Line) -> dict[str, Any]:
    return {
        "line.sku": line.sku,
        "line.category": line.category,
        "line.quantity": line.quantity,
        "line.amount": line.unit_price * line.quantity,
    }


def _compare(
    facts: dict[str, list[Any]], numbers: dict[str, list[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    text = st.sampled_from(sorted(facts)).flatmap(
        lambda path: st.one_of(
            st.builds(
                lambda op, v: {"fact": path, op: v},
                st.sampled_from(["is", "is_not"]),
                st.sampled_from(facts[path]),
            ),
            st.builds(
                lambda op, v: {"fact": path, op: v},
                st.sampled_from(["in", "not_in"]),
                st.lists(st.sampled_from(facts[path]), min_size=1, max_size=2),
            ),
            st.builds(lambda v: {"fact": path, "starts_with": v[:3]}, st.sampled_from(facts[path])),
            st.builds(lambda v: {"fact": path, "exists": v}, st.booleans()),
        )
    )
    number = st.sampled_from(sorted(numbers)).flatmap(
        lambda path: st.one_of(
            st.builds(
                lambda op, v: {"fact": path, op: v},
                st.sampled_from(["is", "is_not", "above", "at_least", "below", "at_most"]),
                st.sampled_from(numbers[path]),
            ),
            st.builds(
                lambda a, b: {"fact": path, "between": sorted([a, b])},
                st.sampled_from(numbers[path]),
                st.sampled_from(numbers[path]),
            ),
            st.builds(
                lambda v: {"fact": path, "in": v},
                st.lists(st.sampled_from(numbers[path]), min_size=1, max_size=2),
            ),
            st.builds(lambda v: {"fact": path, "exists": v}, st.booleans()),
        )
    )
    return st.one_of(text, number)


_TOP_LEAF = st.one_of(
    _compare(TEXT, NUMBER),
    st.builds(
        lambda op, v: {"fact": "event.date", op: v},
        st.sampled_from(["at_least", "below", "is"]),
        st.sampled_from(DATES),
    ),
    st.builds(
        lambda v: {"fact": "event.weekday", "in": v},
        st.lists(st.sampled_from(["monday", "saturday", "sunday"]), min_size=1, max_size=2),
    ),
    st.builds(lambda v: {"fact": "member.vip", "is": v}, st.booleans()),
    st.sampled_from(sorted(LISTS)).flatmap(
        lambda p: st.builds(lambda v: {"fact": p, "contains": v}, st.sampled_from(LISTS[p]))
    ),
    st.builds(
        lambda op, v: {"fact": "event.attributes.stage", op: v},
        st.sampled_from(["is", "is_not", "exists"]),
        st.sampled_from(ATTRIBUTE_VALUES),
    ).map(lambda c: {**c, "exists": bool(c["exists"])} if "exists" in c else c),
    st.builds(
        lambda op, v: {"fact": "event.attributes.stage", op: v},
        st.sampled_from(["above", "at_most"]),
        st.sampled_from([2, 5]),
    ),
)
_LINE_LEAF = _compare(LINE_TEXT, LINE_NUMBER).filter(lambda c: "exists" not in c)


def _groups(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaf,
        lambda inner: st.builds(
            lambda k, items: {k: items},
            st.sampled_from(["all", "any", "none"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        max_leaves=5,
    )


LINE_COND = _groups(_LINE_LEAF)
TOP_COND = st.recursive(
    st.one_of(
        _TOP_LEAF,
        st.builds(lambda k, c: {k: c}, st.sampled_from(["any_line", "all_lines"]), LINE_COND),
    ),
    lambda inner: st.builds(
        lambda k, items: {k: items},
        st.sampled_from(["all", "any", "none"]),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=6,
)


@st.composite
def rule_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    rules = []
    for index in range(draw(st.integers(1, 8))):
        rule: dict[str, Any] = {
            "id": f"r{index}",
            "description": f"rule {index}",
            "priority": draw(st.sampled_from([1, 5, 100])),
        }
        if draw(st.booleans()):
            rule["when"] = draw(TOP_COND)
        if draw(st.integers(0, 3)) == 0:
            rule["from"] = draw(st.sampled_from(DATES))
        if draw(st.integers(0, 3)) == 0:
            rule["until"] = draw(st.sampled_from(DATES))
            if "from" in rule and rule["from"] > rule["until"]:
                rule["from"], rule["until"] = rule["until"], rule["from"]
        then: list[dict[str, Any]] = [{"award_points": {"points": index * 10 + 1}}]
        if draw(st.booleans()):
            then.append(
                {"award_points": {"per_currency_unit": index + 1, "on_lines": draw(LINE_COND)}}
            )
        rule["then"] = then
        rules.append(rule)
    return rules


@st.composite
def snapshots(draw: st.DrawFn) -> EvaluationInput:
    day = draw(st.sampled_from(DATES)) + timedelta(days=draw(st.integers(0, 2)))
    when = datetime(day.year, day.month, day.day, draw(st.sampled_from([0, 12, 23])), tzinfo=UTC)
    lines = tuple(
        Line(
            draw(st.sampled_from(LINE_TEXT["line.sku"])),
            draw(st.sampled_from(LINE_TEXT["line.category"])),
            draw(st.integers(1, 3)),
            Decimal(str(draw(st.sampled_from([50, 33.33, 999.99])))),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    attributes = {} if draw(st.booleans()) else {"stage": draw(st.sampled_from(ATTRIBUTE_VALUES))}
    occurrence = Occurrence(
        kind="purchase",
        source_id="t",
        occurred_at=when,
        total=Decimal(str(draw(st.sampled_from(NUMBER["event.total"])))),
        lines=lines,
        store_id=draw(st.sampled_from([None, "SH-001", "BJ-002"])),
        channel=draw(st.sampled_from([None, "store", "web"])),
        offer_codes=tuple(draw(st.lists(st.sampled_from(["X1", "X2"]), max_size=2))),
        attributes=attributes,
    )
    birth = draw(st.sampled_from([None, date(1990, 6, 15), date(2008, 1, 1)]))
    member = Member(
        member_id="m",
        tier=draw(st.sampled_from(["member", "silver", "gold"])),
        vip=draw(st.booleans()),
        birth_date=birth,
        region=draw(st.sampled_from([None, "east", "west"])),
        tags=tuple(draw(st.lists(st.sampled_from(["a", "b"]), max_size=2))),
    )
    stats = MemberStats(
        spend_30d=Decimal(str(draw(st.sampled_from([0, 500, 1000.25])))),
        days_since_last_purchase=draw(st.sampled_from([None, 0, 30, 90])),
        categories_bought=tuple(draw(st.lists(st.sampled_from(["tv", "kitchen"]), max_size=2))),
    )
    return EvaluationInput(occurrence, member, stats, when)


def _value(path: str, raw: Any, actual: Any) -> tuple[Any, Any]:
    """Both sides of a comparison as the language defines them."""
    if path.startswith("event.attributes."):
        if isinstance(raw, (bool, str)):
            return attribute_text(actual), ("true" if raw else "false") if isinstance(
                raw, bool
            ) else raw
        return attribute_number(actual), Decimal(str(raw))
    if isinstance(raw, date):
        return actual, date_number(raw)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return (None if actual is None else Decimal(str(actual))), Decimal(str(raw))
    return actual, raw


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated values out in full: rule files may not use anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def oracle(
    cond: Any,
    facts: dict[str, Any],
    lines: list[dict[str, Any]],
    line: dict[str, Any] | None = None,
) -> bool:
    """Reference meaning of a condition: a comparison on a missing fact is false."""
    if isinstance(cond, list):
        return all(oracle(c, facts, lines, line) for c in cond)
    if "all" in cond:
        return all(oracle(c, facts, lines, line) for c in cond["all"])
    if "any" in cond:
        return any(oracle(c, facts, lines, line) for c in cond["any"])
    if "none" in cond:
        return not any(oracle(c, facts, lines, line) for c in cond["none"])
    if "any_line" in cond:
        return any(oracle(cond["any_line"], facts, lines, item) for item in lines)
    if "all_lines" in cond:
        return bool(lines) and all(oracle(cond["all_lines"], facts, lines, item) for item in lines)
    path = cond["fact"]
    (op,) = [k for k in cond if k != "fact"]
    raw = cond[op]
    actual = (line if path.startswith("line.") else facts).get(path)  # type: ignore[union-attr]
    if op == "contains":
        return str(raw) in actual
    if op == "exists":
        present = actual is not None
        if path.startswith("event.attributes."):
            present = attribute_text(actual) is not None
        return present == raw
    if op in ("in", "not_in"):
        pairs = [_value(path, item, actual) for item in raw]
        if pairs[0][0] is None:
            return False
        found = any(a == b for a, b in pairs)
        return found if op == "in" else not found
    if op == "between":
        (a, low), (_, high) = _value(path, raw[0], actual), _value(path, raw[1], actual)
        return a is not None and low <= a <= high
    if op == "starts_with":
        return actual is not None and str(actual).startswith(raw)
    a, b = _value(path, raw, actual)
    if a is None:
        return False
    return {
        "is": a == b,
        "is_not": a != b,
        "above": a > b,
        "at_least": a >= b,
        "below": a < b,
        "at_most": a <= b,
    }[op]


def expected(
    rules: list[dict[str, Any]], data: EvaluationInput
) -> list[tuple[str, int, tuple[int, ...]]]:
    facts = snapshot_facts(data)
    lines = [line_facts(line) for line in data.occurrence.lines]
    today = facts["event.date"]
    out = []
    ordered = sorted(enumerate(rules), key=lambda pair: (pair[1]["priority"], pair[0]))
    for _, rule in ordered:
        if "from" in rule and today < date_number(rule["from"]):
            continue
        if "until" in rule and today > date_number(rule["until"]):
            continue
        if "when" in rule and not oracle(rule["when"], facts, lines):
            continue
        for position, effect in enumerate(rule["then"]):
            on_lines = effect["award_points"].get("on_lines")
            matched: tuple[int, ...] = ()
            if on_lines is not None:
                matched = tuple(
                    i for i, item in enumerate(lines) if oracle(on_lines, facts, lines, item)
                )
                if not matched:
                    continue
            out.append((rule["id"], position, matched))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(rule_sets(), st.lists(snapshots(), min_size=60, max_size=60))
def test_compiled_rules_agree_with_the_reference_evaluator(
    rules: list[dict[str, Any]], inputs: list[EvaluationInput]
) -> None:
    text = yaml.dump(
        {"ruleset": "generated", "on": ["purchase"], "rules": rules},
        Dumper=_NoAliasDumper,
        sort_keys=False,
    )
    files = {"program.yaml": "currency: CNY\n", "generated.yaml": text}
    assert check_rules(files) == []
    book = build_rulebook(files, "diff")
    for data in inputs:
        got = []
        for decision in book.evaluate(data):
            rule = rules[int(decision.rule_id[1:])]
            assert isinstance(decision.effect, AwardPoints)
            position = 0 if decision.effect.fixed is not None else 1
            got.append((decision.rule_id, position, decision.matched_lines))
            assert rule["description"] == decision.reason
        assert got == expected(rules, data), (text, data)
