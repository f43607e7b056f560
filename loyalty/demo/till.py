"""The demo's steps sent through the service's own write path, as a till, an events feed and a
service desk would send them: enrolment, purchases, returns, events and redemptions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from loyalty.demo.plan import Step
from loyalty.domain.attributes import attribute_problems
from loyalty.domain.commands import (
    EnrolMember,
    LineIn,
    PaymentIn,
    RecordEvent,
    RecordTransaction,
    Redeem,
)
from loyalty.domain.policy import ProgramPolicy
from loyalty.services import events, members, rewards, transactions
from loyalty.services.context import ServiceContext


def fingerprint(command: Any) -> str:
    """What identifies a request for idempotency: the command without its fingerprint."""
    fields = {k: v for k, v in asdict(command).items() if k != "fingerprint"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def enrol(ctx: ServiceContext, step: Step) -> dict[str, Any]:
    person = step.person
    cmd = EnrolMember(member_id=person.member_id, name=person.name,
                      email=f"{person.member_id.lower()}@example.com",
                      birth_date=person.birth_date, gender=person.gender,
                      region=person.region, enrolled_at=step.at, channel=person.channel)
    return members.enrol(ctx, cmd).body


def purchase(ctx: ServiceContext, step: Step, currency: str, offer_codes: tuple[str, ...],
             vouchers: tuple[str, ...] = ()) -> dict[str, Any]:
    lines = tuple(LineIn(sku=item.sku, quantity=quantity, category=item.category,
                         unit_price=item.price) for item, quantity in step.lines)
    payments = (PaymentIn(step.payment, step.total),) if step.payment else ()
    cmd = RecordTransaction(
        transaction_id=step.key, type="purchase", member_id=step.person.member_id,
        occurred_at=step.at, fingerprint="", lines=lines, store_id=step.store,
        channel=step.channel, currency=currency, payments=payments, offer_codes=offer_codes,
        vouchers=vouchers)
    return transactions.record_transaction(ctx, _stamped(cmd)).body


def give_back(ctx: ServiceContext, step: Step) -> dict[str, Any]:
    """A return of some units of a purchase (the price comes from the sale)."""
    lines = tuple(LineIn(sku=item.sku, quantity=quantity) for item, quantity in step.lines)
    cmd = RecordTransaction(
        transaction_id=step.key, type="return", member_id=step.person.member_id,
        occurred_at=step.at, fingerprint="", lines=lines, store_id=step.store,
        channel=step.channel, original_transaction_id=step.original)
    return transactions.record_transaction(ctx, _stamped(cmd)).body


def event(ctx: ServiceContext, step: Step, policy: ProgramPolicy) -> dict[str, Any]:
    """An event with its declared details, checked as the till's API checks them."""
    problems = attribute_problems(policy, step.event_type, step.attributes)
    if problems:
        raise ValueError(f"the demo made a {step.event_type} event the programme refuses: "
                         f"{problems}")
    cmd = RecordEvent(event_id=step.key, type=step.event_type,
                      member_id=step.person.member_id, occurred_at=step.at, fingerprint="",
                      attributes=dict(step.attributes))
    return events.record_event(ctx, _stamped(cmd)).body


def redeem(ctx: ServiceContext, redemption_id: str, member_id: str, reward_id: str,
           at: datetime) -> dict[str, Any]:
    cmd = Redeem(redemption_id=redemption_id, member_id=member_id, reward_id=reward_id,
                 quantity=1, fingerprint="", occurred_at=at)
    return rewards.redeem(ctx, _stamped(cmd)).body


def _stamped(command: Any) -> Any:
    return replace(command, fingerprint=fingerprint(command))
