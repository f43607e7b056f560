"""A member's profile after enrolment: change it, find a member by phone or e-mail, read the
history of changes, erase personal data on request."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import profile as ps
from loyalty.api.schemas import responses as rs
from loyalty.domain.errors import ValidationFailed
from loyalty.services import profile
from loyalty.services.audit import Actor

blp = Blueprint("profile", __name__,
                description="Change a member's profile and consents, find them, erase them")


def _actor() -> Actor:
    return Actor(current_key().name, "key")


@blp.route("/members")
class MemberLookup(MethodView):
    @require_roles("pos", "marketing", "adjust")
    @blp.arguments(ps.LookupQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, rs.Member)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, phone: str | None = None, email: str | None = None) -> dict[str, Any]:
        """The member with this phone number or e-mail address (give exactly one), read as
        enrolment reads them: "138 0000 0001" finds "+8613800000001"."""
        return profile.find_member(service_context(), phone=phone, email=email)


@blp.route("/members/<member_id>")
class MemberProfile(MethodView):
    @require_roles("pos", "adjust")
    @blp.no_query()
    @blp.arguments(ps.ProfileEditSchema())
    @blp.response(200, rs.Member)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error, description=(
        "`member_exists` (another member has this phone or e-mail; `details.field` names it), "
        "`member_erased`, `member_merged`"))
    def patch(self, edit: dict[str, Any], member_id: str) -> dict[str, Any]:
        """Change the fields given (the rest stay): contact details read as at enrolment,
        attributes and consents merged; every change kept in the member's history."""
        return profile.change_profile(service_context(), member_id, edit, _actor())


@blp.route("/members/<member_id>/changes")
class ProfileHistory(MethodView):
    @require_roles("pos", "adjust")
    @blp.arguments(ps.ChangesQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, ps.ProfileChanges)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, member_id: str, limit: int, cursor: int | None = None) -> dict[str, Any]:
        """Every change to the member's profile and consents, newest first: the field, old
        and new value, who and when; paginated by `cursor`."""
        return profile.changes_page(service_context(), member_id, limit=limit, cursor=cursor)


@blp.route("/members/<member_id>/personal-data")
class PersonalData(MethodView):
    @require_roles("admin")
    @blp.arguments(ps.ErasureReasonSchema(), location="query", as_kwargs=True)
    @blp.arguments(ps.ErasureReasonSchema(), required=False)
    @blp.response(200, ps.Erasure)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error, description="`member_merged`")
    def delete(self, body: dict[str, Any], member_id: str,
               reason: str | None = None) -> dict[str, Any]:
        """Erase the member's personal data on request, saying why (`reason` in the body or
        the query): profile, consents and the personal values of their history and messages.
        Points, ledger and transactions stay; the account goes on, anonymous. Again: nothing
        more changes."""
        given = {text for text in (reason, (body or {}).get("reason")) if text}
        if len(given) > 1:
            raise ValidationFailed.on_fields(
                {"reason": ["Give the reason once: in the body or the query."]})
        return profile.erase(service_context(), member_id, next(iter(given), None), _actor())
