"""Scenarios of features/winback_holdout.feature."""

from pytest_bdd import scenarios

from tests.steps.holdout_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403

scenarios("winback_holdout.feature")
