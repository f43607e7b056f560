"""The products a business sells (catalogue.yaml): codes, categories, prices and warranties.

Product codes and categories compare without regard to case, as everywhere in the rules.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    """One product: its code, name, category, list price and warranty (None: none given)."""

    sku: str
    name: str
    category: str
    price: Decimal | None = None
    warranty_months: int | None = None


@dataclass(frozen=True)
class Catalogue:
    """The products of a rules folder, in the order catalogue.yaml lists them."""

    products: tuple[Product, ...] = ()
    _by_sku: dict[str, Product] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {product.sku.casefold(): product for product in reversed(self.products)}
        object.__setattr__(self, "_by_sku", index)

    def product(self, sku: str) -> Product | None:
        """The product with this code (in any case), None when the catalogue has none."""
        return self._by_sku.get(sku.casefold())

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(product.sku for product in self.products)

    @property
    def categories(self) -> tuple[str, ...]:
        """Each category once, in the order products first name it (case as first written)."""
        seen: dict[str, str] = {}
        for product in self.products:
            seen.setdefault(product.category.casefold(), product.category)
        return tuple(seen.values())

    @property
    def under_warranty(self) -> tuple[Product, ...]:
        """The products sold with a warranty of at least a month."""
        return tuple(p for p in self.products if p.warranty_months)


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it is shorter (31 Jan + 1 month
    is 28 or 29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def warranty_covers(bought: date, months: int, day: date) -> bool:
    """Whether a warranty of `months` from a purchase on `bought` still covers `day`: from the
    purchase day up to the day before the same date `months` later, when it has ended."""
    return bought <= day < add_months(bought, months)
