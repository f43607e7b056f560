"""Scenarios of features/programme_values.feature."""

from pytest_bdd import scenarios

from tests.steps.activation_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.programme_values_steps import *  # noqa: F403

scenarios("programme_values.feature")
