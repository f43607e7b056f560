"""Scenarios of features/referrals.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.referral_steps import *  # noqa: F403

scenarios("referrals.feature")
