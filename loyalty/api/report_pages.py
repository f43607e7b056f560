"""Report pages: each report marketing reads, as one HTML page with its charts and tables."""

from __future__ import annotations

from datetime import datetime

from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate

from loyalty.api.auth import require_roles
from loyalty.api.context import service_context
from loyalty.api.errors import ApiError
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas.requests import AsOfQuerySchema
from loyalty.api.schemas.responses import Error
from loyalty.services.named_reports import REPORTS, report_page

blp = Blueprint("report_pages", __name__, description="Reports as pages with charts")

NAME = {"in": "path", "name": "name", "required": True,
        "description": "The report: " + ", ".join(REPORTS) + ".",
        "schema": {"type": "string", "enum": list(REPORTS)}}


class ReportPageQuerySchema(AsOfQuerySchema):
    """`as_of`: the instant the report is taken at (default: now; not for `overview`);
    `months`: how many months the month-by-month part covers (pyramid, value-matrix,
    lifecycle; default 12)."""

    months = fields.Integer(validate=validate.Range(min=1, max=36), metadata={
        "description": "How many months of month-by-month figures, from 1 to 36 (default 12); "
                       "only for pyramid, value-matrix and lifecycle.", "example": 12})


@blp.route("/reports/<name>/page", parameters=[NAME])
class ReportPage(MethodView):
    @require_roles("marketing")
    @blp.arguments(ReportPageQuerySchema(), location="query", as_kwargs=True)
    @blp.doc(responses={"200": {
        "description": "The report as one HTML page that works offline: a chart per figure "
                       "with a line saying what it shows, and the figures in a table beside it.",
        "content": {"text/html": {"schema": {"type": "string"}}}}})
    @blp.alt_response(404, schema=Error, description="No report has this name.")
    def get(self, name: str, as_of: datetime | None = None,
            months: int | None = None) -> Response:
        """A report as a page with charts, for people to read.

        The same figures as the report's JSON (`GET /reports/{name}`), each chart with a line
        saying what it shows and its figures in a table beside it; the chart library is in
        the page, so it opens offline. Reports: overview, liability, winback, pyramid,
        value-matrix, lifecycle."""
        if name not in REPORTS:
            raise ApiError("not_found", f"No report is called {name!r}; the reports are "
                                        f"{', '.join(REPORTS)}.", details={"name": name})
        page = report_page(service_context(), name, as_of, months)
        return Response(page, mimetype="text/html")
