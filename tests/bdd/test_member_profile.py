"""Scenarios of features/member_profile.feature."""

from pytest_bdd import scenarios

from tests.steps.profile_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.till_check_steps import *  # noqa: F403

scenarios("member_profile.feature")
