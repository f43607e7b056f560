"""What a demo may sell and record, read from a pack's rule files: the products (catalogue.yaml,
or before a pack has one the product codes and categories its rules name), the events the
programme declares, the rewards bought with points, its channels and stores."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import yaml

from loyalty.domain.policy import EventDef, ProgramPolicy, RewardDef

#: Facts whose values name a product code or a category in a rule file.
SKU_FACTS = frozenset({"line.sku"})
CATEGORY_FACTS = frozenset({"line.category", "stats.categories_bought", "products.owned",
                            "products.in_warranty"})
#: The category of a product a rule names only by its code, when no category is known.
GENERAL = "general"


@dataclass(frozen=True, eq=False)
class Item:
    """A product on the demo's shelf: code, category and price in the programme currency.
    Each product is one object of the shop's (equal only to itself)."""

    sku: str
    category: str
    price: Decimal


@dataclass(frozen=True)
class Shop:
    """Everything the demo draws on: products, declared events, redeemable rewards."""

    items: tuple[Item, ...]
    events: tuple[EventDef, ...]
    rewards: tuple[RewardDef, ...]
    channels: tuple[str, ...]
    stores: tuple[str, ...]
    currency: str
    from_catalogue: bool

    def in_categories(self, categories: frozenset[str]) -> tuple[Item, ...]:
        """The items of these categories (casefolded names); every item when none is given."""
        if not categories:
            return self.items
        return tuple(i for i in self.items if i.category.casefold() in categories)

    def outside(self, categories: frozenset[str]) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.category.casefold() not in categories)


def open_shop(policy: ProgramPolicy, files: Mapping[str, str]) -> Shop:
    """The shop of the programme `policy` (read from `files`, its rule files)."""
    catalogue = policy.catalogue
    if catalogue is not None and catalogue.products:
        items = tuple(Item(p.sku, p.category, _price(p.sku, p.price))
                      for p in catalogue.products)
    else:
        items = named_items(files)
    rewards = tuple(r for r in policy.rewards if r.points_cost)
    return Shop(items=items, events=tuple(policy.events), rewards=rewards,
                channels=tuple(policy.channels), stores=tuple(policy.stores or ()),
                currency=policy.currency, from_catalogue=catalogue is not None)


def named_items(files: Mapping[str, str]) -> tuple[Item, ...]:
    """One product per category the rule files name (`<CATEGORY>-ITEM`) and per product code
    they name; a product named only by its code takes the first category named, a code named
    by its start gets `1` after it."""
    skus: dict[str, None] = {}
    categories: dict[str, None] = {}
    for name, text in sorted(files.items()):
        if PurePath(name).suffix != ".yaml" or PurePath(name).stem in ("program", "rewards"):
            continue
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        for fact, values in _tests(document):
            target = skus if fact in SKU_FACTS else categories
            for value in values:
                target.setdefault(value, None)
    first = next(iter(categories), GENERAL)
    items = {f"{c.upper()}-ITEM": Item(f"{c.upper()}-ITEM", c, _price(c, None))
             for c in categories}
    for sku in skus:
        items.setdefault(sku, Item(sku, first, _price(sku, None)))
    return tuple(items.values()) or (Item("ITEM-1", GENERAL, _price("ITEM-1", None)),)


def _tests(node: Any) -> Iterator[tuple[str, list[str]]]:
    """(fact, values) of every condition on a product code or category in a rule document."""
    if isinstance(node, list):
        for child in node:
            yield from _tests(child)
        return
    if not isinstance(node, dict):
        return
    fact = node.get("fact")
    if isinstance(fact, str) and fact in SKU_FACTS | CATEGORY_FACTS:
        values: list[str] = []
        for test in ("is", "contains", "in"):
            value = node.get(test)
            values += [str(v) for v in (value if isinstance(value, list) else [value])
                       if isinstance(v, str | int) and not isinstance(v, bool)]
        prefix = node.get("starts_with")
        if isinstance(prefix, str):
            values.append(f"{prefix}1")
        yield fact, values
    for child in node.values():
        yield from _tests(child)


def _price(name: str, price: Decimal | None) -> Decimal:
    """The catalogue's price, or for a product without one a steady made-up price (20..999)."""
    if price is not None and price > 0:
        return price
    return Decimal(20 + zlib.crc32(name.encode()) % 980)
