"""What a profile edit or an erasure changes, field by field (plain values, no database)."""

from __future__ import annotations

from datetime import date

import pytest

from loyalty.domain.contact import CHANNELS
from loyalty.domain.errors import ValidationFailed
from loyalty.domain.profile import (
    MAX_ATTRIBUTES,
    Change,
    Profile,
    consent_changes,
    consents_of,
    edit,
    erasure,
    is_personal,
)

ANN = Profile(name="Ann", email="ann@example.com", phone="+8613800000001",
              birth_date=date(1990, 5, 1), region="Shanghai", attributes={"size": "M"},
              tags=("vip-hotel",), consents={"sms": True})


def test_only_the_fields_that_differ_are_changed_with_old_and_new_values() -> None:
    outcome = edit(ANN, {"name": "Ann", "email": "ann.chen@example.com",
                         "birth_date": date(1990, 5, 2)})
    assert outcome.values == {"email": "ann.chen@example.com", "birth_date": date(1990, 5, 2)}
    assert outcome.changes == [
        Change("email", "ann@example.com", "ann.chen@example.com"),
        Change("birth_date", "1990-05-01", "1990-05-02"),
    ]


def test_an_edit_that_changes_nothing_writes_nothing() -> None:
    outcome = edit(ANN, {"name": "Ann", "attributes": {"size": "M"}, "tags": ["vip-hotel"],
                         "consents": {"sms": True, "email": False}})
    assert (outcome.values, outcome.changes) == ({}, [])


def test_attributes_are_merged_and_null_removes_one() -> None:
    outcome = edit(ANN, {"attributes": {"size": None, "shoe": 38, "absent": None}})
    assert outcome.values == {"attributes": {"shoe": 38}}
    assert outcome.changes == [Change("attributes.size", "M", None),
                               Change("attributes.shoe", None, 38)]


def test_a_value_of_another_type_is_a_change() -> None:
    profile = Profile(attributes={"vip": 1})
    assert edit(profile, {"attributes": {"vip": True}}).changes == [
        Change("attributes.vip", 1, True)]


def test_attributes_stay_within_the_enrolment_bounds_after_merging() -> None:
    full = Profile(attributes={f"a{n}": n for n in range(MAX_ATTRIBUTES)})
    with pytest.raises(ValidationFailed) as refused:
        edit(full, {"attributes": {"one-more": 1}})
    assert list(refused.value.details["fields"]) == ["attributes"]
    assert edit(full, {"attributes": {"a0": None, "one-more": 1}}).values["attributes"][
        "one-more"] == 1


def test_consent_is_merged_per_channel_and_each_channel_that_turns_is_one_change() -> None:
    after, changes = consent_changes({"sms": True}, {"email": True, "sms": False})
    assert after == {"sms": False, "email": True, "push": False, "phone": False}
    assert changes == [Change("consents.sms", True, False, "consent"),
                       Change("consents.email", False, True, "consent")]


def test_a_channel_never_answered_is_no_consent() -> None:
    assert consents_of(None) == dict.fromkeys(CHANNELS, False)
    assert consent_changes(None, {"push": False})[1] == []


def test_erasure_blanks_every_personal_field_without_keeping_old_values() -> None:
    outcome = erasure(ANN)
    assert outcome.values == {"name": None, "email": None, "phone": None, "birth_date": None,
                              "gender": None, "region": None, "attributes": {},
                              "consents": dict.fromkeys(CHANNELS, False)}
    assert outcome.changes == [
        Change("name", None, None, "erasure"), Change("email", None, None, "erasure"),
        Change("phone", None, None, "erasure"), Change("birth_date", None, None, "erasure"),
        Change("region", None, None, "erasure"), Change("attributes.size", None, None, "erasure"),
        Change("consents.sms", True, False, "erasure"),
    ]
    assert "tags" not in outcome.values


def test_erasing_an_erased_profile_changes_nothing() -> None:
    erased = Profile(consents=dict.fromkeys(CHANNELS, False))
    assert erasure(erased).changes == []


@pytest.mark.parametrize(("field", "personal"), [
    ("name", True), ("phone", True), ("attributes.size", True), ("attributes", True),
    ("consents.sms", False), ("tags", False),
])
def test_which_history_fields_hold_personal_data(field: str, personal: bool) -> None:
    assert is_personal(field) is personal
