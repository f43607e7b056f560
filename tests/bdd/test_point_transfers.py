"""Scenarios of features/point_transfers.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.transfer_steps import *  # noqa: F403

scenarios("point_transfers.feature")
