"""Scenarios of features/merging_members.feature."""

from pytest_bdd import scenarios

from tests.steps.merge_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403

scenarios("merging_members.feature")
