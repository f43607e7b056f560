"""Scenarios of features/vouchers.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.voucher_steps import *  # noqa: F403

scenarios("vouchers.feature")
