"""Scenarios of features/rule_language.feature."""

from pytest_bdd import scenarios

from tests.steps.rule_language_steps import *  # noqa: F403

scenarios("rule_language.feature")
