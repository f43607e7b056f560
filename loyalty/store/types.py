"""Column types that keep money exact and time zone-aware on every database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

MONEY_SCALE = 10_000


class Money(TypeDecorator[Decimal]):
    """A Decimal stored as an integer count of ten-thousandths: exact on SQLite and PostgreSQL."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value) * MONEY_SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"money has more than 4 decimal places: {value}")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_units(value)


def from_units(value: int | Decimal | None) -> Decimal:
    """Money units (as stored or summed in SQL) back to a Decimal with at least 2 places."""
    if value is None:
        return Decimal("0.00")
    amount = Decimal(int(value)).scaleb(-4)
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else amount.normalize()


def to_units(value: Decimal) -> int:
    return int(Decimal(value) * MONEY_SCALE)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC; SQLite gets it back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
