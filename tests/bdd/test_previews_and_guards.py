"""Scenarios of features/previews_and_guards.feature."""

from pytest_bdd import scenarios

from tests.steps.preview_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.till_check_steps import *  # noqa: F403

scenarios("previews_and_guards.feature")
