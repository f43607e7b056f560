"""Scenarios of features/operating_the_service.feature."""

from pytest_bdd import scenarios

from tests.steps.activation_steps import *  # noqa: F403
from tests.steps.operations_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.sweep_steps import *  # noqa: F403
from tests.steps.till_check_steps import *  # noqa: F403

scenarios("operating_the_service.feature")
