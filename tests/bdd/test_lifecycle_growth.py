"""Scenarios of features/lifecycle_growth.feature."""

from pytest_bdd import scenarios

from tests.steps.lifecycle_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403

scenarios("lifecycle_growth.feature")
