"""Scenarios of features/adjustments.feature."""

from pytest_bdd import scenarios

from tests.steps.adjustment_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403

scenarios("adjustments.feature")
