"""Reading catalogue.yaml: the products the business sells, each a problem on its line when
it is wrong (no sku or category, a sku listed twice, a negative price, a warranty out of
range)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from loyalty.domain.catalogue import Catalogue, Product
from loyalty.engine.limits import too_long
from loyalty.engine.loader import key_line, line_of
from loyalty.engine.parse_effects import node_lines
from loyalty.engine.problems import Reporter, did_you_mean

PRODUCT_KEYS = ("sku", "name", "category", "price", "warranty_months")
#: The largest price and the longest warranty a product may have (100 years).
MAX_PRICE = 10**12
MAX_WARRANTY_MONTHS = 1_200
SHAPE = ("catalogue.yaml holds 'products:', a list like "
         "{sku: FRIDGE-500L, name: 500 l refrigerator, category: fridge, price: 5999, "
         "warranty_months: 24}")


def parse_catalogue(doc: Any, report: Reporter) -> Catalogue | None:
    """The products of catalogue.yaml, reporting every problem; None when it lists none."""
    if not isinstance(doc, dict) or not isinstance(doc.get("products"), list) \
            or not doc["products"]:
        report.add(key_line(doc, "products", line_of(doc, 1)), SHAPE)
        return None
    for key in doc:
        if key != "products":
            report.add(key_line(doc, key), f"unknown key '{key}'"
                       + did_you_mean(key, ["products"]))
    products: list[Product] = []
    first: dict[str, int | None] = {}
    node = doc["products"]
    for item, at in zip(node, node_lines(node, key_line(doc, "products")), strict=True):
        product = _product(item, report, at)
        if product is None:
            continue
        folded = product.sku.casefold()
        if folded in first:
            report.add(key_line(item, "sku", at),
                       f"sku '{product.sku}' is listed twice (first on line {first[folded]})")
            continue
        first[folded] = key_line(item, "sku", at)
        products.append(product)
    return Catalogue(tuple(products))


def _code(item: dict[str, Any], key: str, report: Reporter, line: int | None,
          where: str) -> str | None:
    """A product's sku or category: a word or code, at most as long as a till line keeps."""
    value = item.get(key)
    at = key_line(item, key, line)
    if value is None:
        report.add(at, f"{where} needs a '{key}'")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        report.add(at, f"{where}: '{key}' is a word or code like "
                       f"{'FRIDGE-500L' if key == 'sku' else 'fridge'}, not {value!r}")
        return None
    text = str(value).strip()
    if report.limits and too_long(key, text):
        report.add(at, f"{where}: {too_long(key, text)}")
        return None
    return text


def _product(item: Any, report: Reporter, line: int | None) -> Product | None:
    if not isinstance(item, dict):
        report.add(line, "each product is a mapping like {sku: FRIDGE-500L, category: fridge}")
        return None
    before = len(report.problems)
    for key in item:
        if key not in PRODUCT_KEYS:
            report.add(key_line(item, key, line),
                       f"unknown key '{key}' in a product" + did_you_mean(key, PRODUCT_KEYS))
    sku = _code(item, "sku", report, line, "every product")
    where = f"product '{sku}'" if sku else "the product"
    category = _code(item, "category", report, line, where)
    name = item.get("name")
    if name is not None and (not isinstance(name, str | int) or isinstance(name, bool)):
        report.add(key_line(item, "name", line), f"{where}: 'name' is text, not {name!r}")
    price = _price(item, report, line, where)
    warranty = _warranty(item, report, line, where)
    if len(report.problems) > before or sku is None or category is None:
        return None
    return Product(sku, str(name if name is not None else sku), category, price, warranty)


def _price(item: dict[str, Any], report: Reporter, line: int | None,
           where: str) -> Decimal | None:
    raw = item.get("price")
    if raw is None:
        return None
    number = None
    if not isinstance(raw, bool) and isinstance(raw, int | float):
        number = Decimal(str(raw))
    if number is None or not number.is_finite() or not 0 <= number <= MAX_PRICE \
            or number != number.quantize(Decimal("0.0001")):
        report.add(key_line(item, "price", line),
                   f"{where}: price is an amount of money from 0 to {MAX_PRICE:,} (at most 4 "
                   f"decimal places), like 5999 or 49.90, not {raw!r}")
        return None
    return number


def _warranty(item: dict[str, Any], report: Reporter, line: int | None,
              where: str) -> int | None:
    raw = item.get("warranty_months")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_WARRANTY_MONTHS:
        report.add(key_line(item, "warranty_months", line),
                   f"{where}: warranty_months is a whole number of months from 0 to "
                   f"{MAX_WARRANTY_MONTHS:,}, not {raw!r}")
        return None
    return raw
