"""Which presented vouchers a purchase may use, and which rewards a return takes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.domain.errors import VoucherRefused
from loyalty.domain.vouchers import HeldReward, SaleLine, taken_back, usable_vouchers

AT = datetime(2026, 11, 20, 6, tzinfo=UTC)


def reward(code: str, **values: object) -> HeldReward:
    base: dict[str, object] = {
        "key": code, "voucher_code": code, "member_id": "M-1", "reward_id": "SORRY-VOUCHER",
        "quantity": 1, "source_type": "event", "source_id": "E-1",
        "granted_at": AT - timedelta(days=1), "valid_until": AT + timedelta(days=30)}
    return HeldReward(**{**base, **values})  # type: ignore[arg-type]


def refusal(codes: list[str], found: dict[str, HeldReward]) -> list[tuple[str, str]]:
    with pytest.raises(VoucherRefused) as caught:
        usable_vouchers(codes, found, "M-1", AT)
    return [(v["voucher_code"], v["reason"]) for v in caught.value.details["vouchers"]]


def test_the_member_s_held_and_valid_vouchers_are_usable_in_the_order_presented() -> None:
    found = {"A": reward("A"), "B": reward("B", reward_id="ICE-MAKER", valid_until=None)}
    assert [r.reward_id for r in usable_vouchers(["B", "A"], found, "M-1", AT)] == [
        "ICE-MAKER", "SORRY-VOUCHER"]


def test_every_voucher_that_cannot_be_used_is_named_with_its_reason() -> None:
    found = {
        "OTHER": reward("OTHER", member_id="M-2"),
        "USED": reward("USED", status="used", used_by="S-1"),
        "GONE": reward("GONE", status="revoked", revoked_by="R-1"),
        "OLD": reward("OLD", valid_until=AT),
        "LATER": reward("LATER", granted_at=AT + timedelta(seconds=1)),
        "OK": reward("OK"),
    }
    assert refusal(["NOPE", "OTHER", "USED", "GONE", "OLD", "LATER", "OK", "OK"], found) == [
        ("NOPE", "unknown"), ("OTHER", "other_member"), ("USED", "used"), ("GONE", "revoked"),
        ("OLD", "expired"), ("LATER", "not_yet_granted"), ("OK", "listed_twice")]


def test_the_refusal_message_names_the_first_voucher_and_why() -> None:
    with pytest.raises(VoucherRefused) as caught:
        usable_vouchers(["USED"], {"USED": reward("USED", status="used", used_by="S-1")},
                        "M-1", AT)
    assert caught.value.message == "voucher 'USED' cannot be used: already used by purchase S-1"
    assert caught.value.code == "voucher_refused"


FRIDGE_AND_FILTERS = [SaleLine(0, 1, 0), SaleLine(1, 2, 0)]


def test_a_gift_for_a_line_goes_back_when_that_line_is_returned_in_full() -> None:
    gift = reward("G", source_lines=(0,))
    assert taken_back([gift], FRIDGE_AND_FILTERS, {0: 1}) == [gift]


def test_returning_other_lines_or_part_of_its_line_keeps_the_gift() -> None:
    gift = reward("G", source_lines=(1,))
    assert taken_back([gift], FRIDGE_AND_FILTERS, {0: 1}) == []
    assert taken_back([gift], FRIDGE_AND_FILTERS, {1: 1}) == []


def test_a_gift_for_the_whole_purchase_goes_back_with_the_last_line_over_several_returns() -> None:
    gift = reward("G")
    assert taken_back([gift], FRIDGE_AND_FILTERS, {1: 2}) == []
    after_first = [SaleLine(0, 1, 0), SaleLine(1, 2, 2)]
    assert taken_back([gift], after_first, {0: 1}) == [gift]


def test_a_gift_already_taken_back_is_not_taken_back_again() -> None:
    gifts = [reward("R", status="revoked", revoked_by="R-1", source_lines=(0,)),
             reward("K", status="used", used_by="S-2", kept_by="R-1", source_lines=(0,))]
    assert taken_back(gifts, FRIDGE_AND_FILTERS, {0: 1}) == []
