"""Scenarios of features/important_dates.feature."""

from pytest_bdd import scenarios

from tests.steps.important_date_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.sweep_steps import *  # noqa: F403

scenarios("important_dates.feature")
