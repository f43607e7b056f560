"""Scenarios of features/database_outages.feature."""

from pytest_bdd import scenarios

from tests.steps.outage_steps import *  # noqa: F403

scenarios("database_outages.feature")
