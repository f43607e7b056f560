"""The README's role table is the API's: every endpoint is in it, and a key of every role is
refused (403 forbidden) exactly where the table does not list that role. A member token is a
role of its own (`member`): admitted by the member app's endpoints alone, which refuse keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loyalty.api.auth import MEMBER, ROLES
from loyalty.services import member_tokens
from loyalty.services.audit import Actor
from loyalty.services.context import ServiceContext
from tests.api import fakes
from tests.conftest import ROOT, Reliability

TABLE_ROW = re.compile(r"^\| `(GET|POST|PUT|DELETE|PATCH) (/[^`]*)` \| ([a-z_, ]+)", re.M)
SAMPLE = {"member_id": "M-1001", "version": "3", "draft_id": "d-00000000",
          "token_id": "0000000000000000",
          "name": "earning.yaml", "relative_id": "REL-1",
          "date_id": "DATE-1", "notification_id": "00000000-0000-0000-0000-000000000000",
          "endpoint_id": "wh_0000000000000000"}


def documented() -> dict[tuple[str, str], set[str]]:
    """(method, path) -> roles, from the README's role table."""
    section = (ROOT / "README.md").read_text().split("### Roles", 1)[1].split("###", 1)[0]
    return {(method, path): {role.strip() for role in roles.split(",")}
            for method, path, roles in TABLE_ROW.findall(section)}


def served(app: Flask) -> dict[tuple[str, str], set[str]]:
    """(method, path) -> roles, from the views' own role checks."""
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or "/docs" in rule.rule or \
                rule.rule.endswith("openapi.json"):
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}",
                      rule.rule.removeprefix("/api/v1"))
        view_class = app.view_functions[rule.endpoint].view_class  # type: ignore[attr-defined]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found[(method, path)] = set(getattr(view_class, method.lower())._roles)
    return found


def test_every_endpoint_is_in_the_readme_with_its_roles(app: Flask) -> None:
    table, views = documented(), served(app)
    assert set(table) == set(views), (set(table) ^ set(views))
    for endpoint, roles in views.items():
        assert table[endpoint] == roles, endpoint


CASES = [pytest.param(method, path, roles, id=f"{method} {path}")
         for (method, path), roles in sorted(documented().items())]


@pytest.mark.parametrize(("method", "path", "roles"), CASES)
def test_a_role_is_refused_exactly_where_the_table_does_not_list_it(
    client: FlaskClient, auth: Callable[[str], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch, method: str, path: str, roles: set[str],
    reliability: Reliability,
) -> None:
    fakes.install(monkeypatch)
    url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
    body: Any = {} if method in ("POST", "PUT") else None
    for role in ROLES:
        response = client.open(url, method=method, json=body, headers=auth(role))
        code = (response.get_json(silent=True) or {}).get("code")
        assert response.status_code != 401
        if role in roles:
            assert code != "forbidden", (role, response.get_json())
        else:
            assert (response.status_code, code) == (403, "forbidden"), role
    reliability.record(operations=len(ROLES))


@pytest.mark.parametrize(("method", "path", "roles"), CASES)
def test_a_member_token_is_refused_exactly_where_the_table_does_not_list_member(
    client: FlaskClient, auth: Callable[[str], dict[str, str]], ctx: ServiceContext,
    monkeypatch: pytest.MonkeyPatch, method: str, path: str, roles: set[str],
) -> None:
    enrolled = client.post("/api/v1/members", json={"member_id": SAMPLE["member_id"]},
                           headers=auth("pos"))
    assert enrolled.status_code == 201, enrolled.get_json()
    token, _ = member_tokens.issue_token(ctx, SAMPLE["member_id"], Actor("till"))
    fakes.install(monkeypatch)
    url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
    body: Any = {} if method in ("POST", "PUT") else None
    response = client.open(url, method=method, json=body,
                           headers={"Authorization": f"Bearer {token}"})
    code = (response.get_json(silent=True) or {}).get("code")
    assert response.status_code != 401
    if MEMBER in roles:
        assert code != "forbidden", response.get_json()
    else:
        assert (response.status_code, code) == (403, "forbidden")
