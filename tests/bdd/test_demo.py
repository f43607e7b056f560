"""Scenarios of features/demo.feature."""

from pytest_bdd import scenarios

from tests.steps.demo_steps import *  # noqa: F403

scenarios("demo.feature")
