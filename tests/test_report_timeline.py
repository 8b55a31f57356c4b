"""The HTML report's resource timeline: charts of RSS, CPU, I/O, threads
and (with the fake NVML) GPU utilisation and memory, in a real browser."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import TIMEOUT_S, child_env, pipegauge_command
from test_gpu import fake_nvml  # noqa: F401 - fixture
from test_report import Page, browser, embedded_data  # noqa: F401 - fixtures

PROGRAM = """
    import time
    def allocate():
        return [bytearray(1 << 20) for _ in range(150)]
    time.sleep(0.3)
    blocks = allocate()
    time.sleep(0.4)
    del blocks
    time.sleep(0.3)
"""


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory: pytest.TempPathFactory, fake_nvml: Path) -> Path:  # noqa: F811
    directory = tmp_path_factory.mktemp("report-timeline")
    (directory / "prog.py").write_text(textwrap.dedent(PROGRAM), encoding="utf-8")
    (directory / "state").write_text(f"75 {5 << 30} {1 << 30}\n")
    env = child_env({"PIPEGAUGE_NVML_LIBRARY": str(fake_nvml),
                     "FAKE_NVML_STATE": str(directory / "state")})
    completed = subprocess.run(pipegauge_command("run", "-o", "run", "prog.py"), cwd=directory,
                               env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr
    return directory / "run"


def test_report_embeds_the_timeline(gpu_run):
    data = embedded_data((gpu_run / "report.html").read_text(encoding="utf-8"))
    assert len(data["timeline"]["t_ns"]) >= 15
    assert data["timeline"]["gpus"][0]["name"] == "Fake GPU 0"
    assert data["header"]["gpu"] == "1 device: Fake GPU 0"


def test_timeline_section_draws_a_chart_per_resource(browser, gpu_run):  # noqa: F811
    opened = Page(browser, gpu_run / "report.html")
    p = opened.page
    # THEN the section exists with one chart per resource and GPU row
    section = p.locator("#pg-timeline")
    assert section.count() == 1
    series = [box.get_attribute("data-series") for box in section.locator(".pg-chart-box").all()]
    assert series == ["rss", "cpu", "io", "threads", "gpu0-util", "gpu0-mem"]
    # AND each chart is an SVG area with one point per sample
    samples = len(embedded_data((gpu_run / "report.html").read_text(encoding="utf-8"))["timeline"]["t_ns"])
    path = section.locator('[data-series="rss"] path.pg-chart-area').get_attribute("d")
    assert path.count("L") == samples + 1
    # AND the summaries state the RSS peak (>= 150 MiB) and the GPU's 75%
    rss_peak = section.locator('[data-series="rss"] .pg-chart-summary').inner_text()
    assert float(re.search(r"peak ([\d.]+) MiB", rss_peak).group(1)) >= 150
    assert section.locator('[data-series="gpu0-util"] .pg-chart-summary').inner_text() == "max 75%"
    # AND hovering shows the value under the pointer
    chart = section.locator('[data-series="rss"] svg')
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    p.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    p.mouse.move(box["x"] + box["width"] / 2 + 1, box["y"] + box["height"] / 2)
    tooltip = p.locator("#pg-tooltip")
    assert tooltip.is_visible()
    assert "MiB" in tooltip.inner_text() or "KiB" in tooltip.inner_text()
    # AND the header shows the GPU line
    assert "1 device: Fake GPU 0" in p.locator("#pg-header").inner_text()
    opened.screenshot("report-timeline.png")
    opened.close()
