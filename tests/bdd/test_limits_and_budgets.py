"""Scenarios of features/limits_and_budgets.feature."""

from pytest_bdd import scenarios

from tests.steps.limit_steps import *  # noqa: F403

scenarios("limits_and_budgets.feature")
