"""Notifications to queue: the rules' `notify` effects rendered for each channel, honouring
consent, and the system events (tier, VIP, privileges) other systems are told of.

Both become rows of the notifications outbox, written by `State.record` in the transaction of
what caused them; `loyalty deliver` sends them on.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from loyalty.domain.decisions import Decision, Notify
from loyalty.domain.messages import SYSTEM, consented, render
from loyalty.domain.model import Member, Occurrence
from loyalty.domain.policy import ProgramPolicy

if TYPE_CHECKING:
    from loyalty.services.decide import Changes

#: The system events sent to the outbox, whatever the rules say.
SYSTEM_KINDS = ("tier_changed", "vip_changed", "privilege_granted", "privilege_revoked")
#: Events the sweep raises that are sent as system events (a purchase's upgrade is sent from
#: its tier change instead).
SWEEP_EVENTS = ("tier_changed", "vip_changed")


def new_id() -> str:
    return str(uuid.uuid4())


def text_of(value: Any) -> str:
    """A value as a message shows it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(text_of(item) for item in value)
    return "" if value is None else str(value)


def jsonable(value: Any) -> Any:
    """A value as JSON holds it: money and numbers as text, instants and dates in ISO form."""
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def values_for(policy: ProgramPolicy, decision: Decision, member: Member,
               occurrence: Occurrence, changes: Changes) -> dict[str, str]:
    """What each placeholder stands for in a notification of this decision."""
    account, out = changes.account, changes.outcome
    values = {
        "member.name": member.name or "", "member.id": member.member_id,
        "member.tier": member.tier, "points.available": str(account.available),
        "points.pending": str(account.pending), "points.earned": str(out.earned),
        "event.type": occurrence.kind, "event.id": occurrence.source_id,
    }
    for name, value in occurrence.attributes.items():
        values[f"event.{name}"] = text_of(value)
    reward = next((row for row in reversed(changes.rewards)
                   if row.get("rule_id") == decision.rule_id), None)
    offer = next((row for row in reversed(changes.offers)
                  if row.get("rule_id") == decision.rule_id), None)
    if reward is not None:
        found = policy.reward(reward["reward_id"])
        values["reward"] = found.name if found is not None else reward["reward_id"]
        values["voucher"] = reward.get("voucher_code") or ""
        values["expires_at"] = text_of(reward.get("valid_until"))
    if offer is not None:
        values["offer"] = offer.get("description") or ""
        values["offer.code"] = offer["offer_code"]
        values["expires_at"] = values.get("expires_at") or text_of(offer.get("valid_until"))
    return values


def rule_notifications(policy: ProgramPolicy, decision: Decision, effect: Notify,
                       member: Member, consents: Mapping[str, Any] | None,
                       occurrence: Occurrence, changes: Changes) -> list[dict[str, Any]]:
    """The outbox rows of one `notify` effect: one per channel, rendered, `suppressed` where
    the member has not consented to the channel."""
    template = policy.template(effect.template) if effect.template else None
    if template is not None:
        channels = effect.channels or template.channels
    else:
        channels = effect.channels or (SYSTEM,)
    values = values_for(policy, decision, member, occurrence, changes)
    rows = []
    for channel in channels:
        if template is not None:
            text = template.texts.get(channel, "")
            subject = render(template.subject, values)
        else:
            text, subject = effect.message or decision.reason, ""
        rows.append({
            "notification_id": new_id(), "member_id": member.member_id,
            "notification": effect.notification, "channel": channel,
            "template": effect.template, "subject": subject or None,
            "message": render(text, values), "payload": {"values": values},
            "status": "pending" if consented(channel, consents) else "suppressed",
            "created_at": occurrence.occurred_at, "source_id": occurrence.source_id,
            "rule_id": decision.rule_id, "ruleset_version": decision.ruleset_version,
        })
    return rows


def receipt_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A queued notification as the receipt shows it."""
    return {"notification_id": row["notification_id"], "notification": row["notification"],
            "channel": row["channel"], "status": row["status"], "message": row["message"]}


def system_notice(member_id: str, kind: str, message: str, payload: dict[str, Any], *,
                  at: datetime, source_id: str, rule_id: str | None,
                  ruleset_version: str | None) -> dict[str, Any]:
    """An outbox row of a system event (channel `system`, no consent needed)."""
    return {
        "notification_id": new_id(), "member_id": member_id, "notification": kind,
        "channel": SYSTEM, "template": None, "subject": None, "message": message,
        "payload": jsonable({"member_id": member_id, **payload}),
        "status": "pending", "created_at": at, "source_id": source_id,
        "rule_id": rule_id, "ruleset_version": ruleset_version,
    }


def _system(changes: Changes, kind: str, message: str, payload: dict[str, Any],
            rule_id: str | None = None) -> dict[str, Any]:
    occ = changes.occurrence
    return system_notice(changes.member_id, kind, message, payload, at=occ.occurred_at,
                         source_id=occ.source_id, rule_id=rule_id,
                         ruleset_version=changes.book_version)


def system_notifications(changes: Changes, revoked: list[str]) -> list[dict[str, Any]]:
    """The system events of one recorded occurrence: its tier changes, a VIP change the sweep
    raised, privileges granted, and the `revoked` privileges the member held."""
    rows: list[dict[str, Any]] = []
    for change in changes.tier_changes:
        rows.append(_system(changes, "tier_changed",
                            f"tier {change['from_tier']} -> {change['to_tier']}",
                            {"from": change["from_tier"], "to": change["to_tier"],
                             "reason": change["reason"], "changed_at": change["changed_at"]},
                            change.get("rule_id")))
    event = changes.event
    if event is not None and event.get("origin") == "sweep" and event["type"] in SWEEP_EVENTS:
        attributes = dict(event.get("attributes") or {})
        if event["type"] == "vip_changed":
            message = "joined the VIPs" if attributes.get("vip") else "left the VIPs"
        else:
            message = f"tier {attributes.get('from')} -> {attributes.get('to')}"
        rows.append(_system(changes, event["type"], message,
                            {**attributes, "at": event["occurred_at"]}))
    for grant in changes.privileges:
        rows.append(_system(changes, "privilege_granted", f"privilege {grant['privilege']} "
                            "granted", {"privilege": grant["privilege"],
                                        "granted_at": grant["granted_at"],
                                        "valid_until": grant["valid_until"]},
                            grant.get("rule_id")))
    for privilege in revoked:
        rows.append(_system(changes, "privilege_revoked", f"privilege {privilege} withdrawn",
                            {"privilege": privilege,
                             "revoked_at": changes.occurrence.occurred_at}))
    return rows
