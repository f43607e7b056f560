"""The specification page: every scenario of every pack with its result from the last run, as
one self-contained HTML file for people who never open a terminal.

    python -m tests.spec_page [--results build/cucumber.json] [--output build/specs.html]

The results come from a run of the suite with pytest-bdd's Cucumber report, e.g.
`PYTEST_ADDOPTS=--cucumberjson=build/cucumber.json .venv/bin/pytest -q` (`.ci/run` does this).
Scenarios are read from the feature files themselves, so one the run did not reach is listed
as "not run", never left out. `features/<pack>/` holds a pack's specs; the features at the top
describe the service with the retail pack.
"""

from __future__ import annotations

import argparse
import html
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

from loyalty.packs import DEFAULT_PACK, pack_names, pack_summary

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ROOT / "features"
RESULTS = ROOT / "build" / "cucumber.json"
OUTPUT = ROOT / "build" / "specs.html"
NOT_RUN = "not run"
#: A scenario's result from its steps' statuses: the first of these any step has.
WORST_FIRST = ("failed", "undefined", "pending", "skipped")


@dataclass
class Scenario:
    name: str
    line: int
    steps: list[str]
    result: str = NOT_RUN


@dataclass
class Feature:
    uri: str
    name: str
    description: str
    scenarios: list[Scenario] = field(default_factory=list)


def scenario_result(element: dict[str, Any]) -> str:
    statuses = [step.get("result", {}).get("status", "") for step in element.get("steps", ())]
    return next((status for status in WORST_FIRST if status in statuses),
                "passed" if statuses else NOT_RUN)


def read_results(path: Path) -> dict[tuple[str, int], list[str]]:
    """Each scenario's results by (feature file under features/, line): one per example row
    for an outline, in the order the run went through them. pytest-bdd names a top-level
    feature `features/x.feature` and one in a sub-folder `pack/x.feature`."""
    results: dict[tuple[str, int], list[str]] = defaultdict(list)
    if not path.is_file():
        return results
    for feature in json.loads(path.read_text(encoding="utf-8")):
        for element in feature.get("elements", ()):
            if element.get("type") == "scenario":
                uri = feature["uri"].removeprefix(f"{FEATURES.name}/")
                results[(uri, element["line"])].append(scenario_result(element))
    return results


def _steps(node: dict[str, Any]) -> list[str]:
    return [f"{step['keyword'].strip()} {step['text']}" for step in node.get("steps", ())]


def read_feature(path: Path, uri: str, results: dict[tuple[str, int], list[str]]) -> Feature:
    """The scenarios of one feature file (`uri`: its path under features/; an outline's example
    rows each), with their results."""
    document = Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))["feature"]
    feature = Feature(uri, document["name"], (document.get("description") or "").strip())
    background: list[str] = []
    for child in document["children"]:
        if "background" in child:
            background = _steps(child["background"])
            continue
        node = child.get("scenario")
        if node is None:
            continue
        line = node["location"]["line"]
        found = list(results.get((uri, line), ()))
        steps = background + _steps(node)
        rows = [row for examples in node.get("examples", ()) for row in examples["tableBody"]]
        if not rows:
            feature.scenarios.append(Scenario(node["name"], line, steps,
                                              found[0] if found else NOT_RUN))
            continue
        header = [cell["value"] for cell in node["examples"][0]["tableHeader"]["cells"]]
        for index, row in enumerate(rows):
            values = dict(zip(header, (cell["value"] for cell in row["cells"]), strict=False))
            shown = ", ".join(f"{key} {value}" for key, value in values.items())
            feature.scenarios.append(Scenario(
                f"{node['name']} ({shown})", row["location"]["line"], steps,
                found[index] if index < len(found) else NOT_RUN))
    return feature


def collect(features: Path, results: dict[tuple[str, int], list[str]]
            ) -> dict[str, list[Feature]]:
    """Every feature by pack: `features/<pack>/` for a pack, the top folder for the retail
    pack and the service itself."""
    packs = set(pack_names())
    grouped: dict[str, list[Feature]] = defaultdict(list)
    for path in sorted(features.rglob("*.feature")):
        relative = path.relative_to(features)
        pack = relative.parts[0] if len(relative.parts) > 1 else DEFAULT_PACK
        if pack not in packs:
            pack = relative.parts[0]
        grouped[pack].append(read_feature(path, relative.as_posix(), results))
    order = [DEFAULT_PACK, *sorted(name for name in grouped if name != DEFAULT_PACK)]
    return {name: grouped[name] for name in order if name in grouped}


STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1d2430;line-height:1.45}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:2px solid #d7dce3}
h3{margin:1.6rem 0 .3rem}.intro{color:#4a5566}
details{margin:.25rem 0;padding:.3rem .6rem;border-left:4px solid #c3c9d2;background:#f7f8fa}
summary{cursor:pointer}ol{margin:.4rem 0 .2rem 1.2rem;color:#4a5566}
.passed{border-color:#2e8540}.failed{border-color:#c0392b}.not-run,.skipped{border-color:#b58a00}
.badge{display:inline-block;min-width:4.5rem;font-size:.8rem;font-weight:600;margin-right:.5rem}
.passed .badge{color:#2e8540}.failed .badge{color:#c0392b}
.not-run .badge,.skipped .badge,.undefined .badge,.pending .badge{color:#8a6a00}
table{border-collapse:collapse;margin:1rem 0}td,th{padding:.2rem .8rem;text-align:left}
"""


def _tally(features: list[Feature]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for feature in features:
        for scenario in feature.scenarios:
            counts[scenario.result] += 1
    return counts


def render(grouped: dict[str, list[Feature]], results_from: str) -> str:
    """The page: a summary table, then each pack's features and their scenarios."""
    esc = html.escape
    out = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
           "<title>What the loyalty programmes promise</title>",
           f"<style>{STYLE}</style></head><body>",
           "<h1>What the loyalty programmes promise</h1>",
           "<p class='intro'>Every scenario of every pack, in the words marketing signed "
           f"off, with its result from the last run ({esc(results_from)}). Open a scenario to "
           "read its steps.</p>",
           "<table><tr><th>pack</th><th>scenarios</th><th>passed</th><th>failed</th>"
           "<th>not run</th></tr>"]
    for pack, features in grouped.items():
        counts = _tally(features)
        total = sum(counts.values())
        failed = sum(counts[status] for status in WORST_FIRST if status != "skipped")
        out.append(f"<tr><td><a href='#{esc(pack)}'>{esc(pack)}</a></td><td>{total}</td>"
                   f"<td>{counts['passed']}</td><td>{failed}</td>"
                   f"<td>{counts[NOT_RUN] + counts['skipped']}</td></tr>")
    out.append("</table>")
    for pack, features in grouped.items():
        title = pack_summary(pack)["title"] if pack in pack_names() else pack
        out.append(f"<h2 id='{esc(pack)}'>{esc(pack)}: {esc(title)}</h2>")
        for feature in features:
            out.append(f"<h3>{esc(feature.name)}</h3>")
            if feature.description:
                out.append(f"<p class='intro'>{esc(feature.description)}</p>")
            for scenario in feature.scenarios:
                css = scenario.result.replace(" ", "-")
                steps = "".join(f"<li>{esc(step)}</li>" for step in scenario.steps)
                out.append(f"<details class='{esc(css)}'><summary><span class='badge'>"
                           f"{esc(scenario.result)}</span>{esc(scenario.name)}</summary>"
                           f"<ol>{steps}</ol><small>features/{esc(feature.uri)}, line "
                           f"{scenario.line}</small></details>")
    out.append("</body></html>")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="pytest-bdd's Cucumber JSON report of the last run")
    parser.add_argument("--features", type=Path, default=FEATURES)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    results = read_results(args.results)
    when = (datetime.fromtimestamp(args.results.stat().st_mtime, UTC).strftime(
        "%Y-%m-%d %H:%M UTC") if args.results.is_file() else "no run found")
    grouped = collect(args.features, results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(grouped, when), encoding="utf-8")
    counts = _tally([feature for features in grouped.values() for feature in features])
    print(f"wrote {args.output}: {sum(counts.values())} scenarios, "
          + ", ".join(f"{count} {status}" for status, count in sorted(counts.items())))


if __name__ == "__main__":
    main()
