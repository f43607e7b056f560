"""Scenarios of features/till_retry.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403

scenarios("till_retry.feature")
