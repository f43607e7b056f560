"""Rule files -> durable_rules rulesets: reading, checking, compiling, evaluating, explaining."""

from loyalty.engine.explain import explain
from loyalty.engine.loader import read_rule_dir, rules_content_hash
from loyalty.engine.problems import Problem
from loyalty.engine.rulebook import (
    CompiledRuleBook,
    build_rulebook,
    check_rules,
    program_policy,
)

__all__ = [
    "CompiledRuleBook",
    "Problem",
    "build_rulebook",
    "check_rules",
    "explain",
    "program_policy",
    "read_rule_dir",
    "rules_content_hash",
]
