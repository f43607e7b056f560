"""Schemathesis over the served OpenAPI document: requests generated from it, valid and
deliberately invalid, for every operation. No answer is a 5xx; every answer matches what the
document says (status, content type, headers, body); a request the document calls invalid is
refused. Runs against the app on the test database (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loyalty.services.context import ServiceContext
from tests.api.hostile import open_till
from tests.conftest import Reliability

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]
#: What a request the document calls invalid may be answered with: refused, in any of the
#: ways the service refuses (a body too large is refused as such before it is read).
REFUSED = ["400", "401", "403", "404", "405", "409", "411", "413", "415", "422"]


#: The key is the test's to send (an administrator's, who may do everything): requests are
#: generated without it, so that none is taken for invalid for a header the test then adds.
CONFIG = schemathesis.Config.from_dict({
    "generation": {"with-security-parameters": False},
    "checks": {"negative_data_rejection": {"expected-statuses": REFUSED}},
})


@dataclass
class Run:
    """What one pass over the document did."""

    cases: int = 0
    failures: list[str] = field(default_factory=list)


def check_the_document(app: Flask, ctx: ServiceContext, auth: Callable[[str], dict[str, str]],
                       **options: Any) -> Run:
    """Generate requests for every operation of the served document, valid ones and invalid
    ones, send each with an administrator's key (who may do everything) and check the answer;
    every failure is collected, so one run reports them all."""
    open_till(app.test_client(), ctx, auth)  # a member for the paths that name one
    document = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    headers = auth("admin")
    run = Run()
    for operation in (result.ok() for result in document.get_all_operations()):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(deadline=None, database=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.generate], **options)
            @given(case=operation.as_strategy(generation_mode=mode))
            def answer(case: schemathesis.Case) -> None:
                run.cases += 1
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                answer()
            except Unsatisfiable:
                # Nothing of it can be made invalid: its one parameter is a text in its path.
                continue
            except Exception as error:  # every operation is tried, then all are reported
                run.failures.append(f"{operation.label} ({mode.value}): {error}")
    return run


def test_every_answer_to_generated_requests_matches_the_document(
    app: Flask, ctx: ServiceContext, auth: Callable[[str], dict[str, str]],
    reliability: Reliability,
) -> None:
    run = check_the_document(app, ctx, auth, max_examples=8, derandomize=True)
    reliability.record(inputs=run.cases, operations=run.cases)
    assert not run.failures, "\n\n".join(run.failures)
    assert run.cases >= 400


@pytest.mark.slow
def test_every_answer_to_many_generated_requests_matches_the_document(
    app: Flask, ctx: ServiceContext, auth: Callable[[str], dict[str, str]],
    reliability: Reliability,
) -> None:
    run = check_the_document(app, ctx, auth, max_examples=150)
    reliability.record(inputs=run.cases, operations=run.cases)
    assert not run.failures, "\n\n".join(run.failures)
