"""Scenarios of features/starting_from_a_pack.feature."""

from pytest_bdd import scenarios

from tests.steps.pack_steps import *  # noqa: F403

scenarios("starting_from_a_pack.feature")
