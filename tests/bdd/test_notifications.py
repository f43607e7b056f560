"""Scenarios of features/notifications.feature."""

from pytest_bdd import scenarios

from tests.steps.notification_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.sweep_steps import *  # noqa: F403
from tests.steps.tier_steps import *  # noqa: F403

scenarios("notifications.feature")
