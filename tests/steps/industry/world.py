"""The scenario's state for the packs' specs: members by name, a scenario clock, the last
receipt, and the calls a scenario makes to the service, all through the HTTP API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from loyalty.services.context import ServiceContext

API = "/api/v1"
#: Where every scenario starts: a Friday afternoon, early in the year so that birthdays,
#: anniversaries and year-long windows fall inside the scenario.
START = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)


@dataclass
class World:
    """What a scenario has done so far, and how it talks to the service."""

    client: FlaskClient
    ctx: ServiceContext
    auth: Callable[[str], dict[str, str]]
    rules_dir: Path
    now: datetime = START
    members: dict[str, str] = field(default_factory=dict)
    sequence: int = 0
    last: Any = None
    last_body: dict[str, Any] = field(default_factory=dict)
    purchases: dict[str, str] = field(default_factory=dict)
    baskets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    redemptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    # -- the pack's own files ------------------------------------------------------------

    def pack_file(self, name: str) -> dict[str, Any]:
        """A YAML file of the rules folder under test, as data."""
        data: dict[str, Any] = yaml.safe_load((self.rules_dir / name).read_text()) or {}
        return data

    def products(self) -> dict[str, dict[str, Any]]:
        """The pack's catalogue by SKU."""
        return {p["sku"]: p for p in self.pack_file("catalogue.yaml").get("products", [])}

    def product(self, sku: str) -> dict[str, Any]:
        return self.products()[sku]

    def find_product(self, words: str) -> dict[str, Any]:
        """The catalogue product a scenario names in words: its SKU, its exact name, the first
        name ending with the words ("refrigerator"), the first name holding them, or the first
        product of a category of that name; a plural is read as its singular."""
        products = list(self.products().values())
        wanted = " ".join(words.casefold().replace("-", " ").split())
        forms = [wanted] + ([wanted[:-1]] if wanted.endswith("s") else [])
        def name(p: dict[str, Any]) -> str:
            return " ".join(str(p.get("name", "")).casefold().replace("-", " ").split())
        tests: list[Callable[[dict[str, Any], str], bool]] = [
            lambda p, w: str(p["sku"]).casefold() == w,
            lambda p, w: name(p) == w,
            lambda p, w: name(p).endswith(" " + w),
            lambda p, w: f" {w} " in f" {name(p)} ",
            lambda p, w: str(p["category"]).casefold().replace("-", " ") == w,
        ]
        for test in tests:
            for form in forms:
                found = [p for p in products if test(p, form)]
                if found:
                    return found[0]
        raise AssertionError(f"no product in {self.rules_dir / 'catalogue.yaml'} answers to "
                             f"{words!r}")

    def line(self, sku: str, quantity: int = 1, price: Decimal | str | None = None
             ) -> dict[str, Any]:
        """A purchase line for a catalogue product, at its catalogue price unless told."""
        product = self.product(sku)
        unit_price = Decimal(str(price if price is not None else product["price"]))
        return {"sku": sku, "category": product["category"], "quantity": quantity,
                "unit_price": f"{unit_price:.2f}"}

    # -- the clock -----------------------------------------------------------------------

    @contextmanager
    def earlier(self, days: int) -> Iterator[datetime]:
        """Do something `days` days before the scenario's now, then come back to now."""
        now = self.now
        self.now = now - timedelta(days=days)
        try:
            yield self.now
        finally:
            self.now = now

    def advance(self, days: int = 0, hours: int = 0) -> datetime:
        self.now += timedelta(days=days, hours=hours)
        return self.now

    def next_id(self, prefix: str) -> str:
        self.sequence += 1
        return f"{prefix}-{self.sequence:05d}"

    # -- talking to the service ----------------------------------------------------------

    def call(self, method: str, url: str, body: dict[str, Any] | None = None,
             role: str = "pos") -> Any:
        """One API call; keeps the answer as the last one."""
        self.last = self.client.open(f"{API}{url}", method=method, json=body,
                                     headers=self.auth(role))
        self.last_body = self.last.get_json() or {}
        return self.last

    def get(self, url: str, role: str = "pos") -> dict[str, Any]:
        response = self.client.get(f"{API}{url}", headers=self.auth(role))
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def enrol(self, name: str, *, enrolled_days_ago: int = 60,
              birth_date: date | None = None, channel: str | None = None,
              tags: list[str] | None = None, **attributes: Any) -> str:
        """Enrol a member known in the scenario by `name`."""
        body: dict[str, Any] = {
            "name": name, "email": f"{name.lower().replace(' ', '.')}@example.com",
            "enrolled_at": (self.now - timedelta(days=enrolled_days_ago)).isoformat(),
            "tags": tags or [], "attributes": attributes}
        if birth_date is not None:
            body["birth_date"] = birth_date.isoformat()
        if channel is not None:
            body["channel"] = channel
        response = self.call("POST", "/members", body)
        assert response.status_code == 201, self.last_body
        self.members[name] = self.last_body["member_id"]
        return self.members[name]

    def member(self, name: str, as_of: datetime | None = None) -> dict[str, Any]:
        query = f"?as_of={as_of.isoformat().replace('+', '%2B')}" if as_of else ""
        return self.get(f"/members/{self.members[name]}{query}")

    def available(self, name: str) -> int:
        points: int = self.member(name)["points"]["available"]
        return points

    def ledger(self, name: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        url = f"/members/{self.members[name]}/ledger?limit=200"
        while True:
            page = self.get(url)
            entries.extend(page["entries"])
            cursor = page.get("next_cursor")
            if not cursor:
                return entries
            url = f"/members/{self.members[name]}/ledger?limit=200&cursor={cursor}"

    def purchase(self, name: str, lines: list[dict[str, Any]], *, store_id: str | None = None,
                 channel: str | None = None, expect: int = 201, **extra: Any
                 ) -> dict[str, Any]:
        """A purchase at the till (`extra`: payments, offer_codes, vouchers ...)."""
        transaction_id = self.next_id("P")
        body: dict[str, Any] = {
            "transaction_id": transaction_id, "type": "purchase",
            "member_id": self.members[name], "occurred_at": self.now.isoformat(),
            "channel": channel or self.default_channel(), "currency": self.currency(),
            "lines": lines, **extra}
        if store_id is not None:
            body["store_id"] = store_id
        response = self.call("POST", "/transactions", body)
        assert response.status_code == expect, self.last_body
        if expect == 201:
            self.purchases[name] = transaction_id
            self.baskets[transaction_id] = lines
        return self.last_body

    def give_back(self, name: str, lines: list[dict[str, Any]], original: str | None = None,
                  expect: int = 201) -> dict[str, Any]:
        """A return of `lines` (sku and quantity) of the member's last purchase, or of
        `original`."""
        response = self.call("POST", "/transactions", {
            "transaction_id": self.next_id("R"), "type": "return",
            "member_id": self.members[name], "occurred_at": self.now.isoformat(),
            "original_transaction_id": original or self.purchases[name], "lines": lines})
        assert response.status_code == expect, self.last_body
        return self.last_body

    def event(self, name: str, event_type: str, details: dict[str, Any],
              expect: int = 201) -> dict[str, Any]:
        """An event (a service visit, a complaint ...) with its details."""
        response = self.call("POST", "/events", {
            "event_id": self.next_id("E"), "type": event_type, "member_id": self.members[name],
            "occurred_at": self.now.isoformat(), "attributes": details})
        assert response.status_code == expect, self.last_body
        return self.last_body

    def redeem(self, name: str, reward_id: str, quantity: int = 1,
               expect: int = 201) -> dict[str, Any]:
        response = self.call("POST", f"/members/{self.members[name]}/redemptions", {
            "redemption_id": self.next_id("RD"), "reward_id": reward_id,
            "quantity": quantity, "occurred_at": self.now.isoformat()})
        assert response.status_code == expect, self.last_body
        if expect == 201:
            self.redemptions[name] = self.last_body
        return self.last_body

    def sweep(self, as_of: datetime | None = None) -> dict[str, Any]:
        """Run the daily sweep as of `as_of` (default: now) and move the clock there."""
        self.now = as_of or self.now
        response = self.call("POST", "/sweeps", {"as_of": self.now.isoformat()}, role="admin")
        assert response.status_code == 201, self.last_body
        return self.last_body

    def sweep_daily(self, days: int) -> None:
        """Run the sweep once a day for `days` days from now."""
        for _ in range(days):
            self.sweep(self.now + timedelta(days=1))

    def rewards_catalogue(self) -> dict[str, dict[str, Any]]:
        return {r["reward_id"]: r for r in self.get("/rewards")["rewards"]}

    def held_rewards(self, name: str) -> list[dict[str, Any]]:
        rewards: list[dict[str, Any]] = self.member(name)["rewards"]
        return rewards

    def default_channel(self) -> str:
        """The first channel the programme lists (where a purchase comes from unless told)."""
        channels = self.pack_file("program.yaml").get("channels") or ["store"]
        return str(channels[0])

    def currency(self) -> str:
        currency: str = self.pack_file("program.yaml").get("currency", "CNY")
        return currency


@pytest.fixture
def world(client: FlaskClient, ctx: ServiceContext, auth: Callable[[str], dict[str, str]],
          app_config: dict[str, Any]) -> World:
    """A scenario's world on the rules folder the test module's `app_config` names; the
    service's clock is the scenario's."""
    rules_dir = Path(str(app_config["rules_dir"]))
    scenario = World(client=client, ctx=ctx, auth=auth, rules_dir=rules_dir)
    ctx.clock = lambda: scenario.now
    return scenario
