"""Scenarios of features/rule_workflow.feature."""

from pytest_bdd import scenarios

from tests.steps.activation_steps import *  # noqa: F403
from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.workflow_steps import *  # noqa: F403

scenarios("rule_workflow.feature")
