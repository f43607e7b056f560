"""Scenarios of features/earning.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403

scenarios("earning.feature")
