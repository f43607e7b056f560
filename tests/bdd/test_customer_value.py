"""Scenarios of features/customer_value.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.value_steps import *  # noqa: F403

scenarios("customer_value.feature")
