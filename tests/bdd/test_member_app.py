"""Scenarios of features/member_app.feature."""

from pytest_bdd import scenarios

from tests.steps.member_app_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.tier_steps import *  # noqa: F403

scenarios("member_app.feature")
