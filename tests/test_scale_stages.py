"""Pipeline stages in ``pipegauge scale`` / ``forecast``: real profiled runs
at several sizes; each stage's own time, records and allocated bytes are
fitted like a function's, and shown as marked rows."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import TIMEOUT_S, child_env, pipegauge_command
from test_report import Page, browser  # noqa: F401 - the browser fixture

PROGRAM = """
    import pipegauge
    from pipegauge import stage

    n = pipegauge.scale_param(100)

    @stage("read")
    def read(n):
        for i in range(n):
            yield i

    @stage("match")
    def match(rows, n):
        # quadratic on purpose: every record is compared with every row
        for a in rows:
            count = 0
            for b in range(n):
                if (a * 7 + b) % 13 == 0:
                    count += 1
            yield count

    @stage("tag")
    def tag(items):
        # linear: constant work per record
        for item in items:
            acc = item
            for step in range(60):
                acc = (acc * 31 + step) & 0xFFFF
            yield acc

    @stage("write")
    def write(items):
        return sum(1 for _ in items)

    write(tag(match(read(n), n)))
"""


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(pipegauge_command(*args), cwd=cwd, env=child_env(), capture_output=True,
                          text=True, timeout=TIMEOUT_S * 2, check=False)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The pipeline scaled over 5 sizes x 3 runs: (work directory, the scale process)."""
    work = tmp_path_factory.mktemp("stages")
    (work / "job.py").write_text(textwrap.dedent(PROGRAM))
    result = run_cli("scale", "--sizes", "100,200,400,800,1600", "--repeat", "3", "--target",
                     "16000", "--json", "out.json", "-o", "scaled", "job.py", cwd=work)
    assert result.returncode == 0, result.stderr
    return work, result


def test_quadratic_stage_is_super_linear_and_rows_are_marked(scaled):
    # GIVEN a pipeline whose "match" stage does n work per record, scaled over 5 sizes
    tmp_path, result = scaled
    data = json.loads((tmp_path / "out.json").read_text())
    stages = {item["name"]: item for item in data["stages"]}
    # THEN every stage is a row of kind "stage", apart from the functions
    assert set(stages) == {"read", "match", "tag", "write"}
    assert all(item["kind"] == "stage" and item["label"] == f"[stage] {name}"
               for name, item in stages.items())
    assert all(item["kind"] != "stage" for item in data["functions"])
    # AND the quadratic stage's own time is classified super-linear, and leads
    match = stages["match"]["metrics"]
    assert match["time"]["class"] in ("O(n^2)", "O(n^3)", "O(n^k)"), match["time"]
    assert data["stages"][0]["name"] == "match"
    assert stages["match"]["share_target"] > stages["match"]["share_now"]
    # AND record counts are exact: linear, forecast exactly at the target
    for name in ("read", "match", "tag", "write"):
        records = stages[name]["metrics"]["records"]
        assert records["class"] == "O(n)", (name, records)
        assert records["forecast"] == pytest.approx(16000, rel=1e-6)
    # AND the linear stage is not super-linear
    assert stages["tag"]["metrics"]["time"]["class"] in ("O(1)", "O(log n)", "O(n)", "O(n log n)")
    # AND allocated bytes are fitted (memory was on in every run)
    assert "memory_allocated" in stages["match"]["metrics"]
    # AND the table has a stage section with marked rows within 80 columns
    lines = result.stdout.splitlines()
    assert "pipeline stages (own time; shares among the stages):" in lines
    section = lines[lines.index("pipeline stages (own time; shares among the stages):"):]
    match_row = next(line for line in section if line.endswith("[stage] match"))
    assert "O(n^" in match_row, match_row
    assert all(len(line) <= 80 for line in lines)
    # AND `forecast` over the same runs carries the same stage fits
    again = run_cli("forecast", "scaled", "--target", "16000", "--json", "again.json",
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    redo = {item["name"]: item for item in json.loads((tmp_path / "again.json").read_text())["stages"]}
    for name in ("records", "time"):
        first, second = stages["match"]["metrics"][name], redo["match"]["metrics"][name]
        assert sorted(map(tuple, first["points"])) == sorted(map(tuple, second["points"]))
        assert (second["class"], second["now"]) == (first["class"], first["now"])


def test_forecast_page_lists_stage_rows_and_plots_their_fits(scaled, browser):  # noqa: F811
    work, _result = scaled
    data = json.loads((work / "out.json").read_text())
    opened = Page(browser, work / "scaled" / "forecast.html")
    p = opened.page
    try:
        # THEN the table has one marked row per stage after the functions
        rows = p.locator("#pg-forecast-table tbody tr")
        assert p.locator('#pg-forecast-table tr[data-kind="stage"]').count() == len(data["stages"])
        # WHEN the match stage's row is clicked (row 0 is the whole run)
        index = 1 + len(data["functions"]) + [s["name"] for s in data["stages"]].index("match")
        assert rows.nth(index).locator("td").first.inner_text() == "[stage] match"
        rows.nth(index).click()
        # THEN its own time is plotted, and its records can be chosen
        assert p.locator("#pg-chart-title").inner_text() == "[stage] match"
        assert p.locator("#pg-chart circle.pg-point").count() == len(data["runs"])
        p.select_option("#pg-metric", "records")
        caption = p.locator("#pg-chart-caption").inner_text()
        assert caption.startswith("Records:") and "O(n)" in caption
        opened.screenshot("forecast-stage.png")
    finally:
        opened.close()
