"""Scenarios of features/birthdays.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.sweep_steps import *  # noqa: F403

scenarios("birthdays.feature")
