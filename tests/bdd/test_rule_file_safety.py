"""Scenarios of features/rule_file_safety.feature."""

from pytest_bdd import scenarios

from tests.steps.activation_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.rule_safety_steps import *  # noqa: F403

scenarios("rule_file_safety.feature")
