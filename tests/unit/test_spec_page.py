"""The specification page lists every scenario of every feature file with its last result."""

from __future__ import annotations

import json
from pathlib import Path

from tests.spec_page import FEATURES, NOT_RUN, collect, main, read_results

FEATURE = """Feature: Guests earn nights
  Nights make the tier.

  Background:
    Given the hotel rules are in force

  Scenario: A stay earns points
    When a guest stays 2 nights
    Then the guest has 200 points

  Scenario: A broken promise
    Then nothing works

  Scenario Outline: Nights count toward Gold
    When a guest stays <nights> nights
    Then the guest is <tier>

    Examples:
      | nights | tier   |
      | 29     | Silver |
      | 30     | Gold   |

  Scenario: Not reached by the run
    Then it is listed anyway
"""


def _element(line: int, *statuses: str) -> dict[str, object]:
    return {"type": "scenario", "line": line, "name": "",
            "steps": [{"result": {"status": status}} for status in statuses]}


def _write(tmp_path: Path) -> tuple[Path, Path]:
    features = tmp_path / "features"
    (features / "hotel").mkdir(parents=True)
    (features / "hotel" / "nights.feature").write_text(FEATURE)
    results = tmp_path / "cucumber.json"
    results.write_text(json.dumps([{"uri": "hotel/nights.feature", "elements": [
        _element(7, "passed", "passed", "passed"),
        _element(11, "passed", "failed"),
        _element(14, "passed", "passed", "passed"),
        _element(14, "passed", "passed", "skipped"),
    ]}]))
    return features, results


def test_each_scenario_and_each_example_row_gets_its_own_result(tmp_path: Path) -> None:
    features, results = _write(tmp_path)
    grouped = collect(features, read_results(results))
    [feature] = grouped["hotel"]
    assert [(s.name, s.result) for s in feature.scenarios] == [
        ("A stay earns points", "passed"),
        ("A broken promise", "failed"),
        ("Nights count toward Gold (nights 29, tier Silver)", "passed"),
        ("Nights count toward Gold (nights 30, tier Gold)", "skipped"),
        ("Not reached by the run", NOT_RUN),
    ]
    assert feature.scenarios[0].steps == [
        "Given the hotel rules are in force", "When a guest stays 2 nights",
        "Then the guest has 200 points"]


def test_the_page_shows_every_scenario_with_its_result_and_escapes_text(tmp_path: Path) -> None:
    features, results = _write(tmp_path)
    (features / "hotel" / "odd.feature").write_text(
        "Feature: <script>alert(1)</script>\n  Scenario: A & B\n    Then ok\n")
    output = tmp_path / "specs.html"
    main(["--results", str(results), "--features", str(features), "--output", str(output)])
    page = output.read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "A &amp; B" in page
    assert page.count("<details") == 6
    assert "<span class='badge'>failed</span>A broken promise" in page
    assert "<span class='badge'>not run</span>Not reached by the run" in page
    assert "<td>hotel</td>" in page or "href='#hotel'" in page


def test_without_results_every_scenario_of_the_real_specs_is_listed_as_not_run(
        tmp_path: Path) -> None:
    grouped = collect(FEATURES, read_results(tmp_path / "missing.json"))
    scenarios = [s for features in grouped.values() for f in features for s in f.scenarios]
    written = sum(path.read_text().count("Scenario") for path in FEATURES.rglob("*.feature"))
    assert len(scenarios) >= written > 0
    assert {s.result for s in scenarios} == {NOT_RUN}
    assert next(iter(grouped)) == "retail"


def test_results_of_top_level_and_pack_features_are_both_found(tmp_path: Path) -> None:
    features, results = _write(tmp_path)
    (features / "earning.feature").write_text("Feature: Earning\n  Scenario: One\n    Then ok\n")
    found = json.loads(results.read_text())
    found.append({"uri": "features/earning.feature", "elements": [_element(2, "passed")]})
    results.write_text(json.dumps(found))
    grouped = collect(features, read_results(results))
    assert [s.result for s in grouped["retail"][0].scenarios] == ["passed"]
    assert grouped["hotel"][0].scenarios[0].result == "passed"
