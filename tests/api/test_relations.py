"""Relatives and important dates over HTTP: recorded once whatever a till retries, read back
soonest first, refused with the field and the reason when they cannot be, removed with the
dates that name them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from loyalty.domain.relations import MAX_DATES, MAX_RELATIVES
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t

Auth = Callable[[str], dict[str, str]]
CHINA = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 20, 14, 3, tzinfo=CHINA)
SPOUSE = {"relative_id": "REL-1", "relation": "spouse", "name": "Mei"}


@pytest.fixture
def member(client: FlaskClient, ctx: ServiceContext, auth: Auth) -> str:
    ctx.clock = lambda: NOW
    response = client.post("/api/v1/members", json={"member_id": "M-1001", "name": "Wei"},
                           headers=auth("pos"))
    assert response.status_code == 201, response.get_json()
    return "M-1001"


def post(client: FlaskClient, auth: Auth, path: str, body: dict[str, Any],
         role: str = "pos") -> Any:
    return client.post(f"/api/v1/members/{path}", json=body, headers=auth(role))


def birthday(**extra: Any) -> dict[str, Any]:
    return {"date_id": "DATE-1", "kind": "birthday", "relative_id": "REL-1", "month": 12,
            "day": 3, "year": 1990, **extra}


def stored(ctx: ServiceContext, table: Any) -> int:
    with ctx.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_spouse_and_her_birthday_are_recorded_and_read_back(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    relative = post(client, auth, f"{member}/relatives", SPOUSE)
    assert relative.status_code == 201, relative.get_json()
    assert relative.get_json() == {**SPOUSE, "member_id": member,
                                   "created_at": "2026-11-20T06:03:00+00:00"}
    recorded = post(client, auth, f"{member}/dates", birthday(), role="adjust")
    assert recorded.status_code == 201, recorded.get_json()
    body = recorded.get_json()
    assert (body["relation"], body["name"], body["next_on"]) == ("spouse", "Mei", "2026-12-03")
    listed = client.get(f"/api/v1/members/{member}/relatives", headers=auth("pos")).get_json()
    assert listed == {"member_id": member, "relatives": [relative.get_json()]}
    dates = client.get(f"/api/v1/members/{member}/dates", headers=auth("pos")).get_json()
    assert dates == {"member_id": member, "dates": [body]}


def test_dates_are_listed_soonest_first(client: FlaskClient, auth: Auth, member: str) -> None:
    post(client, auth, f"{member}/relatives", SPOUSE)
    for date_id, month, day in (("D-MAR", 3, 1), ("D-NOV", 11, 20), ("D-DEC", 12, 24)):
        response = post(client, auth, f"{member}/dates", {
            "date_id": date_id, "kind": "other", "label": date_id, "month": month, "day": day})
        assert response.status_code == 201, response.get_json()
    dates = client.get(f"/api/v1/members/{member}/dates", headers=auth("pos")).get_json()
    assert [(d["date_id"], d["next_on"]) for d in dates["dates"]] == [
        ("D-NOV", "2026-11-20"), ("D-DEC", "2026-12-24"), ("D-MAR", "2027-03-01")]


def test_a_till_retrying_gets_the_same_answer_and_nothing_twice(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    first = post(client, auth, f"{member}/relatives", SPOUSE)
    again = post(client, auth, f"{member}/relatives", SPOUSE)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    date = post(client, auth, f"{member}/dates", birthday())
    date_again = post(client, auth, f"{member}/dates", birthday())
    assert (date_again.status_code, date_again.get_json()) == (201, date.get_json())
    assert (stored(ctx, t.member_relatives), stored(ctx, t.important_dates)) == (1, 1)


def test_an_id_used_for_another_body_or_member_is_a_conflict(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    post(client, auth, f"{member}/relatives", SPOUSE)
    other = post(client, auth, f"{member}/relatives", {**SPOUSE, "name": "Lan"})
    assert (other.status_code, other.get_json()["code"]) == (409, "idempotency_conflict")
    client.post("/api/v1/members", json={"member_id": "M-2002"}, headers=auth("pos"))
    elsewhere = post(client, auth, "M-2002/relatives", SPOUSE)
    assert (elsewhere.status_code, elsewhere.get_json()["code"]) == (409, "idempotency_conflict")
    assert stored(ctx, t.member_relatives) == 1


@pytest.mark.parametrize(("date", "field", "words"), [
    ({"month": 4, "day": 31}, "day", "April has no day 31: it has 30 days."),
    ({"month": 2, "day": 29, "year": 2023}, "day", "February 2023 has no day 29"),
    ({"month": 12, "day": 3, "year": 2027}, "year", "from 1900 to 2026"),
    ({"month": 11, "day": 21, "year": 2026}, "year", "has not come yet"),
    ({"month": 13, "day": 1}, "month", "less than or equal to 12"),
    ({"month": 1, "day": 1, "year": 1850}, "year", "1900"),
    ({"month": "12", "day": 3}, "month", "integer"),
])
def test_a_day_that_cannot_be_remembered_is_refused_naming_the_field(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str,
    date: dict[str, Any], field: str, words: str
) -> None:
    post(client, auth, f"{member}/relatives", SPOUSE)
    body = {"date_id": "DATE-1", "kind": "birthday", "relative_id": "REL-1", **date}
    response = post(client, auth, f"{member}/dates", body)
    assert response.status_code == 422
    problems = response.get_json()["details"]["fields"]
    assert list(problems) == [field], problems
    assert words in problems[field][0], problems
    assert stored(ctx, t.important_dates) == 0


def test_29_february_without_a_year_comes_on_28_february_in_a_common_year(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    post(client, auth, f"{member}/relatives", SPOUSE)
    response = post(client, auth, f"{member}/dates", birthday(month=2, day=29, year=None))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["next_on"] == "2027-02-28"


@pytest.mark.parametrize(("body", "field", "words"), [
    (birthday(relative_id="REL-404"), "relative_id", "No relative 'REL-404'"),
    (birthday(relative_id=None), "relative_id", "A birthday is a relative's"),
    ({"date_id": "D-2", "kind": "other", "month": 5, "day": 20}, "label", "Say what"),
    ({"date_id": "D-2", "kind": "name_day", "month": 5, "day": 20}, "kind", "Must be one of"),
])
def test_a_date_must_say_whose_and_what_it_is(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str,
    body: dict[str, Any], field: str, words: str
) -> None:
    post(client, auth, f"{member}/relatives", SPOUSE)
    response = post(client, auth, f"{member}/dates", body)
    assert response.status_code == 422, response.get_json()
    problems = response.get_json()["details"]["fields"]
    assert words in problems[field][0], problems
    assert stored(ctx, t.important_dates) == 0


def test_a_relative_of_another_member_cannot_be_named(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    client.post("/api/v1/members", json={"member_id": "M-2002"}, headers=auth("pos"))
    post(client, auth, "M-2002/relatives", SPOUSE)
    response = post(client, auth, f"{member}/dates", birthday())
    assert response.status_code == 422
    assert "No relative 'REL-1'" in response.get_json()["details"]["fields"]["relative_id"][0]


def test_a_relative_has_one_birthday(client: FlaskClient, auth: Auth, member: str) -> None:
    post(client, auth, f"{member}/relatives", SPOUSE)
    post(client, auth, f"{member}/dates", birthday())
    second = post(client, auth, f"{member}/dates", birthday(date_id="DATE-2", day=4))
    assert second.status_code == 422
    assert second.get_json()["details"]["fields"]["kind"] == [
        "Mei's birthday is already recorded (DATE-1)."]


def test_an_unknown_relation_is_refused(client: FlaskClient, auth: Auth, member: str) -> None:
    response = post(client, auth, f"{member}/relatives", {**SPOUSE, "relation": "wife"})
    assert response.status_code == 422
    assert list(response.get_json()["details"]["fields"]) == ["relation"]


def test_a_member_records_a_limited_number_of_relatives_and_dates(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    for n in range(MAX_RELATIVES):
        response = post(client, auth, f"{member}/relatives",
                        {"relative_id": f"R-{n}", "relation": "friend", "name": f"F{n}"})
        assert response.status_code == 201
    refused = post(client, auth, f"{member}/relatives", SPOUSE)
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "too_many_entries"
    assert refused.get_json()["details"]["limit"] == MAX_RELATIVES
    for n in range(MAX_DATES):
        response = post(client, auth, f"{member}/dates", {
            "date_id": f"D-{n}", "kind": "other", "label": f"day {n}", "month": 1 + n % 12,
            "day": 1 + n // 12})
        assert response.status_code == 201
    refused = post(client, auth, f"{member}/dates", {
        "date_id": "D-LAST", "kind": "wedding_anniversary", "month": 6, "day": 1})
    assert (refused.status_code, refused.get_json()["code"]) == (422, "too_many_entries")
    assert (stored(ctx, t.member_relatives), stored(ctx, t.important_dates)) == (
        MAX_RELATIVES, MAX_DATES)


def test_removing_a_relative_removes_the_dates_naming_them(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    post(client, auth, f"{member}/relatives", SPOUSE)
    post(client, auth, f"{member}/dates", birthday())
    post(client, auth, f"{member}/dates",
         {"date_id": "WED", "kind": "wedding_anniversary", "month": 5, "day": 20})
    removed = client.delete(f"/api/v1/members/{member}/relatives/REL-1", headers=auth("pos"))
    assert removed.status_code == 204
    dates = client.get(f"/api/v1/members/{member}/dates", headers=auth("pos")).get_json()
    assert [d["date_id"] for d in dates["dates"]] == ["WED"]
    assert stored(ctx, t.member_relatives) == 0
    again = client.delete(f"/api/v1/members/{member}/relatives/REL-1", headers=auth("pos"))
    assert again.status_code == 204


def test_removing_a_date(client: FlaskClient, auth: Auth, ctx: ServiceContext,
                         member: str) -> None:
    post(client, auth, f"{member}/dates",
         {"date_id": "WED", "kind": "wedding_anniversary", "month": 5, "day": 20})
    assert client.delete(f"/api/v1/members/{member}/dates/WED",
                         headers=auth("adjust")).status_code == 204
    assert stored(ctx, t.important_dates) == 0
    assert client.delete(f"/api/v1/members/{member}/dates/WED",
                         headers=auth("adjust")).status_code == 204


def test_removing_what_was_never_recorded_is_not_found(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    client.post("/api/v1/members", json={"member_id": "M-2002"}, headers=auth("pos"))
    post(client, auth, "M-2002/relatives", SPOUSE)
    for path, code in ((f"{member}/relatives/REL-1", "unknown_relative"),
                       (f"{member}/dates/NOPE", "unknown_date"),
                       ("M-404/relatives/REL-1", "unknown_member")):
        response = client.delete(f"/api/v1/members/{path}", headers=auth("pos"))
        assert (response.status_code, response.get_json()["code"]) == (404, code), path
    assert client.get("/api/v1/members/M-2002/relatives",
                      headers=auth("pos")).get_json()["relatives"][0]["relative_id"] == "REL-1"


def test_an_unknown_member_has_no_relatives(client: FlaskClient, auth: Auth,
                                            member: str) -> None:
    for path in ("relatives", "dates"):
        response = client.get(f"/api/v1/members/M-404/{path}", headers=auth("pos"))
        assert (response.status_code, response.get_json()["code"]) == (404, "unknown_member")
    response = post(client, auth, "M-404/relatives", SPOUSE)
    assert (response.status_code, response.get_json()["code"]) == (404, "unknown_member")


def test_marketing_keys_do_not_read_or_write_relatives(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    assert client.get(f"/api/v1/members/{member}/relatives",
                      headers=auth("marketing")).status_code == 403
    assert post(client, auth, f"{member}/relatives", SPOUSE, role="marketing").status_code == 403


def test_tills_racing_each_other_never_pass_the_limit_nor_record_twice(
    app: Flask, client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    headers = auth("pos")
    for n in range(MAX_RELATIVES - 3):
        post(client, auth, f"{member}/relatives",
             {"relative_id": f"R-{n}", "relation": "friend", "name": f"F{n}"})
    bodies = [{"relative_id": f"RACE-{n}", "relation": "child", "name": f"C{n}"}
              for n in range(6)] + [SPOUSE] * 6
    answers: list[tuple[int, Any]] = []
    barrier = threading.Barrier(len(bodies))

    def send(body: dict[str, Any]) -> None:
        barrier.wait()
        response = app.test_client().post(f"/api/v1/members/{member}/relatives", json=body,
                                          headers=headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stored(ctx, t.member_relatives) == MAX_RELATIVES
    recorded = [body for status, body in answers if status == 201]
    refused = [body["code"] for status, body in answers if status != 201]
    assert set(refused) <= {"too_many_entries"}
    spouse_answers = [body for body in recorded if body["relative_id"] == "REL-1"]
    assert all(body == spouse_answers[0] for body in spouse_answers)
    assert len({body["relative_id"] for body in recorded}) == 3
