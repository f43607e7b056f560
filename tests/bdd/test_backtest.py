"""Scenarios of features/backtest.feature."""

from pytest_bdd import scenarios

from tests.steps.backtest_steps import *  # noqa: F403

scenarios("backtest.feature")
