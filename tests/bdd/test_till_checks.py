"""Scenarios of features/till_checks.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.till_check_steps import *  # noqa: F403

scenarios("till_checks.feature")
