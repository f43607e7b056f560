"""A rule's limit in the words explain, the backtest and the check use."""

from __future__ import annotations

import pytest

from loyalty.domain.decisions import Limit
from loyalty.services.limits import limit_phrase


@pytest.mark.parametrize(("limit", "words"), [
    (Limit(times=1), "1 time per member"),
    (Limit(times=3, period="ever"), "3 times per member"),
    (Limit(times=1, period="year"), "1 time per member per year"),
    (Limit(times=2, period="day"), "2 times per member per day"),
])
def test_a_limit_in_words(limit: Limit, words: str) -> None:
    assert limit_phrase(limit) == words
