"""Scenarios of features/points_liability.feature."""

from pytest_bdd import scenarios

from tests.steps.liability_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403

scenarios("points_liability.feature")
