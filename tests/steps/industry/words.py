"""How the packs' specs write numbers, amounts, days and names, read into values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

#: A member's name as the specs write it: a capitalised word (Ann, Bob, Mrs Chen is "Chen").
NAME = r"(?P<name>[A-Z][a-z]+)"
#: How each business calls its members.
ROLE = r"(?:customer|owner|patient|guest|shipper|member)"
#: Her, his or their.
POSSESSIVE = r"(?:her|his|their)"
#: An amount of money as written: 3,999 or 3999.00.
AMOUNT = r"\d[\d,]*(?:\.\d+)?"
#: A whole number of points as written: 1,500.
POINTS = r"\d[\d,]*"
#: A day of the year as written: 20 May.
DAY = r"\d{1,2} [A-Z][a-z]+"
#: A date as written: 20 May 1961.
DATE = r"\d{1,2} [A-Z][a-z]+ \d{4}"

COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twenty": 20}
COUNT = r"(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|twenty|\d+)"


def count(text: str) -> int:
    """A quantity as written: a, two, 12, 1,200."""
    return COUNTS[text] if text in COUNTS else int(text.replace(",", ""))


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def points(text: str) -> int:
    return int(text.replace(",", ""))


def code(words: str) -> str:
    """Words as the programme codes them: "internal medicine" is internal-medicine."""
    return "-".join(words.casefold().split())


def birth_date(text: str) -> date:
    return datetime.strptime(text, "%d %B %Y").date()


def day_in(text: str, year: int) -> datetime:
    """The start of a day of the given year, as the sweep sees it."""
    return datetime.combine(datetime.strptime(f"{text} {year}", "%d %B %Y").date(), time.min,
                            UTC)
