"""The report's comparison with the baseline: embedded only when the
program has a baseline, drawn as a differential flame graph (red slower,
blue faster) in Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from test_report import Page, browser  # noqa: F401 - the browser fixture

WORKLOAD = Path(__file__).resolve().parent / "workloads_regression.py"


def embedded(report: Path) -> dict:
    text = report.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="pg-data">(.*?)</script>', text, re.S)
    assert match
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A baseline run and a run with stage 3 made 60% slower, via the CLI."""
    import subprocess

    from conftest import child_env, pipegauge_command

    workdir = tmp_path_factory.mktemp("report-diff")
    shutil.copy(WORKLOAD, workdir / "pipeline.py")

    def cli(*args: str) -> None:
        done = subprocess.run(pipegauge_command(*args), cwd=workdir, env=child_env(),
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr

    cli("run", "-o", "base", "pipeline.py")
    cli("baseline", "set", "latest")
    cli("run", "-o", "slow", "pipeline.py", "--slow", "3", "--factor", "1.6")
    return workdir


def test_diff_is_embedded_only_against_a_baseline(runs):
    # GIVEN the baseline run's report (written before any baseline existed)
    # and the slowed run's report
    assert "diff" not in embedded(runs / "base" / "report.html")
    data = embedded(runs / "slow" / "report.html")
    # THEN the slowed run's report carries the comparison, aligned with its functions
    diff = data["diff"]
    names = data["functions"]["name"]
    verdicts = dict(zip(names, diff["functions"]["verdict"]))
    assert verdicts["stage_3"] == "regressed"
    assert [name for name, verdict in verdicts.items() if verdict == "regressed"] == ["stage_3"]
    assert diff["base"].startswith("baseline #1")


def test_differential_flame_graph_in_the_browser(browser, runs):  # noqa: F811
    # GIVEN the slowed run's report open in Chromium
    page = Page(browser, runs / "slow" / "report.html")
    try:
        # THEN the comparison section lists stage_3 as regressed
        section = page.page.locator("#pg-diff")
        assert section.count() == 1
        assert "stage_3" in page.page.locator("li.pg-diff-regressed").inner_text()
        # AND its flame graph paints stage_3 red and the unchanged stages grey or pale
        colours = page.page.evaluate("""() => {
            const out = {};
            for (const frame of document.querySelectorAll('#pg-diff .pg-frame')) {
                out[frame.textContent] = getComputedStyle(frame).backgroundColor;
            }
            return out;
        }""")
        red, green, blue = (int(v) for v in re.findall(r"\d+", colours["stage_3"])[:3])
        assert red > 150 and red > green + 60 and red > blue + 60, colours["stage_3"]
        # AND the colour rule itself: red for slower, blue for faster, grey for none
        rule = page.page.evaluate("""() => {
            const model = window.pgReport.Model;
            return [model.diffColor(0.3, 'regressed'), model.diffColor(-0.3, 'improved'),
                    model.diffColor(0, 'unchanged')];
        }""")
        assert rule[0].startswith("hsl(2,") and rule[1].startswith("hsl(216,") and rule[2].startswith("hsl(220,8%")
        page.screenshot("report-diff.png")
    finally:
        page.close()
