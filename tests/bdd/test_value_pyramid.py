"""Scenarios of features/value_pyramid.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.value_report_steps import *  # noqa: F403

scenarios("value_pyramid.feature")
