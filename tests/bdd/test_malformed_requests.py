"""Scenarios of features/malformed_requests.feature."""

from pytest_bdd import scenarios

from tests.steps.malformed_request_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403

scenarios("malformed_requests.feature")
