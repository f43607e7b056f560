"""The member app: member tokens issued at a till or a service desk, and what a member token
reads (its own member's summary, ledger, vouchers and offers, and nothing else)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import current_key, current_member, require_member, require_roles
from loyalty.api.context import service_context
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import member_app as ma
from loyalty.api.schemas import requests as rq
from loyalty.api.schemas import responses as rs
from loyalty.services import member_app, member_tokens, members
from loyalty.services.audit import Actor

blp = Blueprint("member_app", __name__,
                description="Member tokens, and what a member app reads with one")


def _actor() -> Actor:
    return Actor(current_key().name, "key")


@blp.route("/members/<member_id>/tokens")
class MemberTokens(MethodView):
    @require_roles("pos", "adjust")
    @blp.no_query()
    @blp.response(200, ma.MemberTokenList)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, member_id: str) -> dict[str, Any]:
        """The member's tokens, newest first, with their status (never their secret)."""
        return member_tokens.list_tokens(service_context(), member_id)

    @require_roles("pos", "adjust")
    @blp.no_query()
    @blp.arguments(ma.IssueTokenSchema(), required=False)
    @blp.response(201, ma.IssuedToken)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error, description="`member_merged`, `member_erased`")
    def post(self, body: dict[str, Any], member_id: str) -> tuple[dict[str, Any], int]:
        """Issue a read-only token for the member's app; the token is shown this once."""
        token, view = member_tokens.issue_token(
            service_context(), member_id, _actor(), name=body.get("name"),
            expires_at=body.get("expires_at"))
        return {**view, "token": token}, 201


@blp.route("/members/<member_id>/tokens/<token_id>")
class MemberTokenResource(MethodView):
    @require_roles("pos", "adjust")
    @blp.no_query()
    @blp.response(200, ma.MemberTokenView)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`, `unknown_token`")
    def delete(self, member_id: str, token_id: str) -> dict[str, Any]:
        """Revoke a token: it stops working at once; revoking it again changes nothing."""
        return member_tokens.revoke_token(service_context(), member_id, token_id, _actor())


@blp.route("/me")
class Me(MethodView):
    @require_member
    @blp.no_query()
    @blp.response(200, rs.Member)
    def get(self) -> dict[str, Any]:
        """The token's member: points, when pending points become available, what expires
        next, progress to the next tier, privileges, offers and rewards."""
        return members.get_member(service_context(), current_member().member_id)


@blp.route("/me/ledger")
class MyLedger(MethodView):
    @require_member
    @blp.arguments(rq.LedgerQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, rs.LedgerPage)
    def get(self, limit: int, cursor: int | None = None) -> dict[str, Any]:
        """The token's member's ledger, newest first; paginated by `cursor`."""
        return members.ledger_page(service_context(), current_member().member_id,
                                   limit=limit, cursor=cursor)


@blp.route("/me/vouchers")
class MyVouchers(MethodView):
    @require_member
    @blp.no_query()
    @blp.response(200, ma.MemberVouchers)
    def get(self) -> dict[str, Any]:
        """The rewards the token's member holds, with their voucher codes."""
        return member_app.vouchers(service_context(), current_member().member_id)


@blp.route("/me/offers")
class MyOffers(MethodView):
    @require_member
    @blp.no_query()
    @blp.response(200, ma.MemberOffers)
    def get(self) -> dict[str, Any]:
        """The offers open to the token's member."""
        return member_app.offers(service_context(), current_member().member_id)
