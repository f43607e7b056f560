"""Scenarios of features/busy_tills.feature."""

from pytest_bdd import scenarios

from tests.steps.busy_till_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403

scenarios("busy_tills.feature")
