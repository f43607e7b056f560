"""Scenarios of features/first_purchase.feature."""

from pytest_bdd import scenarios

from tests.steps.lifecycle_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.sweep_steps import *  # noqa: F403

scenarios("first_purchase.feature")
