"""Steps of features/report_pages.feature: the report pages marketing opens, or saves to a
file with `loyalty report`, and what they say."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_bdd import parsers, then, when

from loyalty.cli import main
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0
from tests.steps.programme_steps import World
from tests.steps.value_report_steps import MONTHS, YEAR, at

Auth = Callable[[str], dict[str, str]]
#: The report each page name in the scenarios stands for.
PAGES = {"value pyramid": "pyramid", "lifecycle": "lifecycle", "value matrix": "value-matrix",
         "win-back": "winback", "points liability": "liability", "overview": "overview"}


class Page:
    """A report page as marketing sees it: its words, its sections and their tables."""

    def __init__(self, text: str) -> None:
        self.html = text

    @property
    def words(self) -> str:
        """What the page says, without its scripts and tags."""
        without = re.sub(r"<script>.*?</script>", "", self.html, flags=re.S)
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", without)).split())

    def section(self, key: str) -> str:
        found = re.search(rf'<section id="{key}">(.*?)</section>', self.html, flags=re.S)
        assert found, f"no section {key}"
        return found.group(1)

    def rows(self, key: str) -> list[list[str]]:
        """The rows of the table of section `key`, each as its cells' texts (a cell's lines
        one under the other)."""
        def text(cell: str) -> str:
            return html.unescape(re.sub(r"<[^>]+>", "", cell.replace("<br>", "\n")))

        return [[text(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
                for row in re.findall(r"<tr[^>]*>(.*?)</tr>", self.section(key), flags=re.S)]

    def charts(self, key: str) -> bool:
        return f'<div id="chart-{key}" class="plotly-graph-div"' in self.section(key)


@pytest.fixture
def page() -> list[Page]:
    return []


@when(parsers.parse("marketing opens the {name} page"))
def open_page(world: World, auth: Auth, page: list[Page], name: str) -> None:
    at(world, T0)
    response = world.client.get(f"/api/v1/reports/{PAGES[name]}/page",
                                headers=auth("marketing"))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    page.append(Page(response.get_data(as_text=True)))


@when(parsers.parse("marketing saves the {name} page as it stood on {day:d} {month} to a file"))
def save_page(world: World, page: list[Page], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              name: str, day: int, month: str) -> None:
    monkeypatch.setenv("LOYALTY_DATABASE_URL", world.ctx.settings.database_url)
    monkeypatch.setenv("LOYALTY_RULES_DIR", str(RULES_DIR))
    target = tmp_path / f"{PAGES[name]}.html"
    as_of = datetime(YEAR, MONTHS[month], day, tzinfo=UTC).isoformat()
    result = CliRunner().invoke(main, ["report", PAGES[name], "--as-of", as_of, "--html",
                                       str(target)])
    assert result.exit_code == 0, result.output
    page.append(Page(target.read_text(encoding="utf-8")))


@when(parsers.parse("a till asks for the {name} page"), target_fixture="refused")
def till_asks(world: World, auth: Auth, name: str) -> int:
    response = world.client.get(f"/api/v1/reports/{PAGES[name]}/page", headers=auth("pos"))
    return int(response.status_code)


@then("the till is refused")
def till_refused(refused: int) -> None:
    assert refused == 403


@then(parsers.parse("the page says the top fifth of the members, {top:d} of {members:d}, "
                    "brought {share} of the revenue of the last {days:d} days: {revenue} of "
                    "{total}"))
def top_fifth_said(page: list[Page], top: int, members: int, share: str, days: int,
                   revenue: str, total: str) -> None:
    assert (f"The top fifth of members ({top} of {members}) brought {share} of the revenue of "
            f"the last {days} days: {revenue} of {total}.") in page[0].words


@then(parsers.re(r'the page charts the revenue by tier, with (?P<tier>\w+), "(?P<meaning>[^"]+)",'
                 r" bringing (?P<revenue>.+) in the table beside it"))
def tier_charted(page: list[Page], tier: str, meaning: str, revenue: str) -> None:
    assert page[0].charts("tiers")
    row = next(row for row in page[0].rows("tiers") if row[0].startswith(f"{tier}\n"))
    assert (row[0], row[2]) == (f"{tier}\n{meaning}", revenue), row


@then(parsers.parse("the page charts the revenue by value band, with the top 1% bringing "
                    "{revenue}"))
def band_charted(page: list[Page], revenue: str) -> None:
    assert page[0].charts("bands")
    row = next(row for row in page[0].rows("bands") if row[0] == "top 1%")
    assert row[2] == revenue, row


@then(parsers.parse("the file says {drifting:d} of {members:d} members are drifting away"))
def drifting(page: list[Page], drifting: int, members: int) -> None:
    assert f"{drifting:,} of {members:,} members" in page[0].words
    assert "are drifting away (declining or lapsed)" in page[0].words


@then(parsers.parse('the file lists the {stage} stage as "{meaning}", with {members:d} members'))
def stage_listed(page: list[Page], stage: str, meaning: str, members: int) -> None:
    assert page[0].charts("stages")
    assert [stage, meaning, str(members)] == page[0].rows("stages")[
        [row[0] for row in page[0].rows("stages")].index(stage)][:3]


@then(parsers.parse("the file charts the moves between stages in {month}, {members:d} member "
                    "from {before} to {after}"))
def moves_charted(page: list[Page], month: str, members: int, before: str, after: str) -> None:
    assert page[0].charts("flows")
    assert f"Moves between stages in {YEAR}-{MONTHS[month]:02d}" in page[0].section("flows")
    assert [before, after, str(members)] in page[0].rows("flows")


@then(parsers.re(r"the (?:page|file) opens without the internet"))
def offline(page: list[Page]) -> None:
    text = page[0].html
    assert text.count("* plotly.js v") == 1  # the chart library is in the page itself
    assert not re.search(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=", text)
