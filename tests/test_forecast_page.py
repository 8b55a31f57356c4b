"""forecast.html, written by `pipegauge scale`, driven in a real Chromium
(Debian's, through Playwright: no browser download). Screenshots go to
tests/artifacts/."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import TIMEOUT_S, child_env, pipegauge_command
from test_report import Page, browser  # noqa: F401 - the browser fixture

NASTY = "</script><b>&\u2028x"

PROGRAM = f"""
    import sys
    import pipegauge

    n = pipegauge.scale_param(100)

    def grow(n):
        total = 0
        for i in range(n):
            for j in range(n // 10):
                total += 1
        return total

    def fixed():
        return sum(range(5000))

    def nasty():
        return 1

    names = {{"co_name": {NASTY!r}}}
    if sys.version_info >= (3, 11):
        names["co_qualname"] = {NASTY!r}
    nasty.__code__ = nasty.__code__.replace(**names)

    fixed()
    grow(n)
    for _ in range(n):
        nasty()
"""


@pytest.fixture(scope="module")
def scale_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("page")
    (work / "prog.py").write_text(textwrap.dedent(PROGRAM), encoding="utf-8")
    completed = subprocess.run(
        pipegauge_command("scale", "--sizes", "100,200,400,800", "--target", "8000", "-o", "out",
                          "prog.py"),
        cwd=work, env=child_env(), capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert completed.returncode == 0, completed.stderr
    return work / "out"


def test_page_is_self_contained_and_escapes_names(scale_dir):
    html = (scale_dir / "forecast.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "default-src 'none'" in html and "scaling forecast" in html
    body = re.search(r'id="pg-data">(.*?)</script>', html, re.DOTALL).group(1)
    for raw in "<>&\u2028\u2029":
        assert raw not in body
    data = json.loads(body)
    assert NASTY in [item["name"] for item in data["functions"]]
    assert data == json.loads((scale_dir / "forecast.json").read_text())


@pytest.fixture
def page(browser, scale_dir):  # noqa: F811 - browser is the imported fixture
    opened = Page(browser, scale_dir / "forecast.html")
    yield opened
    opened.close()


def test_chart_shows_points_curve_band_and_target(page, scale_dir):
    p = page.page
    data = json.loads((scale_dir / "forecast.json").read_text())
    for section in ("summary", "fit", "functions"):
        assert p.locator(f"#pg-{section}").count() == 1
    # GIVEN the first function (largest at the target) is plotted
    first = data["functions"][0]
    assert p.locator("#pg-chart-title").inner_text() == first["label"]
    # THEN one dot per run, the fitted curve, the band and the target marker
    assert p.locator("#pg-chart circle.pg-point").count() == len(data["runs"])
    assert p.locator("#pg-chart polyline.pg-curve").count() == 1
    assert p.locator("#pg-chart polygon.pg-band").count() == 1
    assert p.locator("#pg-chart line.pg-target").count() == 1
    assert p.locator("#pg-chart circle.pg-forecast").count() == 1
    # AND the target marker sits right of every measured point
    target_x = float(p.locator("#pg-chart line.pg-target").get_attribute("x1"))
    xs = [float(p.locator("#pg-chart circle.pg-point").nth(i).get_attribute("cx"))
          for i in range(len(data["runs"]))]
    assert max(xs) < target_x
    assert p.locator("#pg-run-time").inner_text().startswith("Run time:")
    page.screenshot("forecast-overview.png")


def test_clicking_a_row_and_a_metric_redraws(page, scale_dir):
    p = page.page
    data = json.loads((scale_dir / "forecast.json").read_text())
    index = next(i for i, item in enumerate(data["functions"]) if item["name"] == NASTY)
    # WHEN the nasty function's row is clicked (row 0 is the whole run)
    p.locator("#pg-forecast-table tbody tr").nth(index + 1).click()
    # THEN its name is shown as text, and the metric can be switched to calls
    assert p.locator("#pg-chart-title").inner_text() == data["functions"][index]["label"]
    p.select_option("#pg-metric", "calls")
    caption = p.locator("#pg-chart-caption").inner_text()
    assert caption.startswith("Calls:") and "O(n)" in caption
    # WHEN the whole-run row is clicked THEN the run's time is plotted
    p.locator("#pg-forecast-table tbody tr").first.click()
    assert p.locator("#pg-chart-title").inner_text() == "the whole run"
    assert p.evaluate("window.pgForecast.state.metric") in ("run_time", "peak_memory")
    page.screenshot("forecast-run.png")
