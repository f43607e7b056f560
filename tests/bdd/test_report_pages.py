"""Scenarios of features/report_pages.feature."""

from pytest_bdd import scenarios

from tests.steps.programme_steps import *  # noqa: F403
from tests.steps.report_page_steps import *  # noqa: F403
from tests.steps.value_report_steps import *  # noqa: F403

scenarios("report_pages.feature")
