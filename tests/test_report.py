"""The HTML report: files written, data escaped, call tree pruned in C, and
the page itself driven in a real Chromium (Debian's, through Playwright's
Python package: no browser download). Screenshots go to tests/artifacts/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import TIMEOUT_S, child_env, pipegauge_command

import pipegauge
from pipegauge import _core
from pipegauge.report import MAX_BYTES, embed_json, render

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("PIPEGAUGE_CHROMIUM", "/usr/bin/chromium")
NASTY = "</script><b>&\u2028x"  # a function name that must render as text

PROGRAM = f"""
    import sys

    NASTY = {NASTY!r}

    def leaf(n):
        return sum(range(n))

    def helper_small():
        for _ in range(40):
            leaf(300)

    def helper_big():
        for _ in range(20):
            leaf(20000)

    def nasty():
        for _ in range(5):
            leaf(20000)

    # A code object whose (qualified) name has HTML and JSON separators in it.
    names = {{"co_name": NASTY}}
    if sys.version_info >= (3, 11):
        names["co_qualname"] = NASTY
    nasty.__code__ = nasty.__code__.replace(**names)

    def main():
        helper_small()
        helper_big()
        nasty()

    main()
"""


def run_program(directory: Path) -> Path:
    """Profile PROGRAM with `pipegauge run -o`; returns the run directory."""
    (directory / "prog.py").write_text(textwrap.dedent(PROGRAM), encoding="utf-8")
    out = directory / "run"
    completed = subprocess.run(pipegauge_command("run", "-o", str(out), "prog.py"), cwd=directory,
                               env=child_env(), capture_output=True, text=True, timeout=TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_program(tmp_path_factory.mktemp("report"))


def embedded_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="pg-data">(.*?)</script>', html, re.DOTALL)
    assert match, "no embedded data"
    return json.loads(match.group(1))


# ---------------------------------------------------------------- files, data


def test_every_run_dir_has_a_self_contained_report(run_dir):
    # GIVEN a finished `pipegauge run`
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    # THEN report.html is one file with everything inlined, nothing fetched
    assert "wrote " + str(run_dir / "report.html") in (run_dir / "pipegauge.log").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    data = embedded_data(html)
    names = data["functions"]["name"]
    assert {"main", "helper_small", "helper_big", "leaf"} <= {name.rsplit(".", 1)[-1] for name in names}
    assert len(data["nodes"]["parent"]) == len(data["nodes"]["func"]) > 4


def test_embedded_json_escapes_markup_and_line_separators(run_dir):
    # GIVEN a profile with a function named </script><b>&<U+2028>x
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    body = re.search(r'id="pg-data">(.*?)</script>', html, re.DOTALL).group(1)
    # THEN none of < > & U+2028 U+2029 appears raw in the data, and it decodes back
    for raw in "<>&\u2028\u2029":
        assert raw not in body
    assert NASTY in embedded_data(html)["functions"]["name"]
    assert embed_json({"s": "<>&\u2028\u2029"}) == '{"s":"\\u003c\\u003e\\u0026\\u2028\\u2029"}'


def test_report_command_writes_the_file(pipegauge, run_dir, workdir):
    result = pipegauge("report", str(run_dir), "-o", "out.html")
    assert result.returncode == 0, result.stderr
    html = (workdir / "out.html").read_text(encoding="utf-8")
    assert embedded_data(html)["header"]["program"].endswith("prog.py")


def test_report_command_bad_output_is_one_error_line(pipegauge, run_dir):
    result = pipegauge("report", str(run_dir), "-o", "no/such/dir/out.html")
    assert result.returncode != 0
    assert result.stderr_lines == [result.stderr_lines[0]]
    assert result.stderr_lines[0].startswith("pipegauge: error: cannot write")


def test_a_failing_report_never_loses_the_profile(tmp_path):
    # GIVEN an output directory where report.html cannot be written
    (tmp_path / "run" / "report.html").mkdir(parents=True)
    (tmp_path / "run" / "report.html" / "keep").write_text("x")
    # WHEN a run writes there
    out = run_program(tmp_path)
    # THEN the profile and summary are written, and the log says why there is no report
    assert _core.Profile.read(str(out / "profile.pgprof")).node_count > 1
    assert (out / "summary.json").is_file()
    assert "report.html not written" in (out / "pipegauge.log").read_text()


# -------------------------------------------------------------------- pruning


def total(nodes: list[tuple]) -> float:
    return sum(node[4] for node in nodes if node[0] == 0)


def test_prune_merges_small_paths_and_keeps_totals(run_dir):
    profile = _core.Profile.read(str(run_dir / "profile.pgprof"))
    nodes = profile.nodes(False)
    # WHEN pruned to 2 nodes, and to 30% of the run
    for kwargs in ({"max_nodes": 2}, {"min_fraction": 0.3}):
        pruned = _core.prune(profile, **kwargs)
        small = pruned.nodes(False)
        names = [record[0] for record in pruned.functions(False)]
        # THEN the total is exact, "[other]" holds the rest, parents come first
        assert total(small) == pytest.approx(total(nodes), rel=1e-12)
        assert len(small) < len(nodes)
        assert "[other]" in names
        assert all(parent < index for index, (parent, *_) in enumerate(small) if index)
        children = [0.0] * len(small)
        for parent, _func, _calls, _exc, inclusive, _exclusive, _rec in small[1:]:
            children[parent] += inclusive
        for index, node in enumerate(small[1:], start=1):
            assert node[4] == pytest.approx(node[5] + children[index], rel=1e-9, abs=1.0)
    assert len(_core.prune(profile, max_nodes=2).nodes()) <= 2 * 2 + 2
    assert _core.prune(profile).node_count == profile.node_count


def test_prune_rejects_bad_arguments(run_dir):
    profile = _core.Profile.read(str(run_dir / "profile.pgprof"))
    with pytest.raises(ValueError):
        _core.prune(profile, min_fraction=1.5)
    with pytest.raises(ValueError):
        _core.prune(profile, max_nodes=-1)
    with pytest.raises(TypeError):
        _core.prune("not a profile")


def test_render_prunes_a_large_tree_under_the_size_bound(tmp_path):
    # GIVEN a real profile with ~40,000 call paths (200 functions calling 200)
    source = "".join(f"def f{i}(outer):\n    if outer:\n        for g in FUNCS:\n            g(False)\n"
                     for i in range(200))
    namespace: dict = {}
    exec(compile(source, "<many>", "exec"), namespace)  # noqa: S102 - generated test program
    namespace["FUNCS"] = [namespace[f"f{i}"] for i in range(200)]
    with pipegauge.profile(builtins=False) as run:
        for function in namespace["FUNCS"]:
            function(True)
    assert run.profile.node_count > 40_000
    # WHEN rendered with a small node budget
    from pipegauge.report import build_data, render_html

    data = build_data(run, max_nodes=1000)
    # THEN the embedded tree is pruned, the function table complete
    assert data["tree"] == {"nodes": run.profile.node_count, "shown": len(data["nodes"]["parent"]),
                            "pruned": True}
    assert len(data["nodes"]["parent"]) <= 2 * 1000 + 2
    assert len(data["functions"]["name"]) == run.profile.function_count + 1  # + "[other]"
    assert data["synthetic_functions"] == 1
    assert len(render_html(data).encode()) < MAX_BYTES
    written = render(run.profile, tmp_path / "big.html")
    assert written.stat().st_size < MAX_BYTES


def test_build_data_carries_resource_columns(run_dir):
    # GIVEN a run recorded with memory, CPU and I/O attribution (the defaults)
    from pipegauge.report import build_data

    run = pipegauge.Run.load(run_dir / "profile.pgprof")
    # WHEN the page data is built
    data = build_data(run)
    functions, nodes = data["functions"], data["nodes"]
    # THEN the optional columns the page draws are there, one value per row
    count = len(functions["name"])
    for key in ("cpu", "offcpu", "mem", "io"):
        assert len(functions[key]) == count
    for key in ("cpu", "alloc"):
        assert len(nodes[key]) == len(nodes["parent"])
    # AND they agree with the run's statistics
    stats = {item.index: item for item in run.stats()}
    main = next(item for item in stats.values() if item.name.endswith("main"))
    assert functions["mem"][main.index] == main.total_allocated_bytes > 0
    assert functions["cpu"][main.index] == round(main.cpu_time * 1e9)
    total = functions["total"][main.index]
    assert functions["offcpu"][main.index] == max(0, total - functions["cpu"][main.index])


# ------------------------------------------------------------ in the browser


def _browser_or_skip():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PIPEGAUGE_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright's Python package is not installed (pip install playwright)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Page:
    """A report opened from file:// with the CSP in force; records console
    errors, page errors and any request that is not file:// or data:."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda message: self.errors.append(message.text)
                     if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url)
                     if not request.url.startswith(("file:", "data:")) else None)
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("html[data-pg-ready]", state="attached", timeout=30_000)

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    def frame_widths(self) -> dict[str, float]:
        widths: dict[str, float] = {}
        frames = self.page.locator("#pg-flame .pg-frame")
        for index in range(frames.count()):
            frame = frames.nth(index)
            widths[frame.get_attribute("data-node")] = float(
                re.search(r"width:\s*([\d.]+)px", frame.get_attribute("style")).group(1))
        return widths

    def close(self) -> None:
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.requests == [], f"network requests: {self.requests}"
        self.page.close()


@pytest.fixture
def page(browser, run_dir):
    opened = Page(browser, run_dir / "report.html")
    yield opened
    opened.close()


def test_page_renders_every_section_without_errors(page):
    p = page.page
    for section in ("header", "flame", "tree", "functions"):
        assert p.locator(f"#pg-{section}").count() == 1
    assert p.locator("#pg-header dd").first.inner_text().endswith("prog.py")
    # The icicle: the root, main, and the helpers at least.
    assert p.locator("#pg-flame .pg-frame").count() >= 5
    assert p.locator("#pg-flame .pg-frame", has_text="helper_big").count() == 1
    assert p.locator("#pg-tree .pg-tree-node").count() >= 3
    page.screenshot("report-overview.png")


def test_resource_columns_and_flame_metrics_are_drawn(page):
    p = page.page
    # THEN the function table has the CPU, off-CPU, memory and I/O columns ...
    for key in ("cpu", "offcpu", "mem", "io"):
        assert p.locator(f"#pg-functions th[data-key={key}]").count() == 1
    # ... and they sort like the others
    p.locator("#pg-functions th[data-key=mem]").click()
    assert "pg-sorted" in p.locator("#pg-functions th[data-key=mem]").get_attribute("class")
    # AND the flame graph offers CPU time and allocated bytes as widths
    options = p.locator("#pg-flame select.pg-metric option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert "cpu" in values and "alloc" in values


def test_click_zooms_the_flame_graph(page):
    p = page.page
    before = page.frame_widths()
    full = before["0"]
    assert p.locator(".pg-breadcrumbs").inner_text().strip() == "all"
    # WHEN the narrowest labelled frame (narrower than the whole) is clicked
    node = min((n for n, w in before.items() if 30 <= w < 0.8 * full), key=before.get)
    target = p.locator(f'#pg-flame .pg-frame[data-node="{node}"]')
    label = target.inner_text()
    target.click()
    # THEN the breadcrumb ends with it, it spans the whole width, and widths changed
    crumbs = p.locator(".pg-breadcrumbs").inner_text()
    assert crumbs.startswith("all") and crumbs.rstrip().endswith(label)
    after = page.frame_widths()
    assert after[node] == pytest.approx(full, rel=0.01)
    assert after[node] > 1.2 * before[node]
    assert set(after) < set(before) or after != before
    page.screenshot("report-zoomed.png")
    # WHEN the first breadcrumb is clicked THEN the whole run is back
    p.locator(".pg-breadcrumbs a.pg-crumb").first.click()
    assert p.locator(".pg-breadcrumbs").inner_text().strip() == "all"
    assert page.frame_widths() == before


def test_table_sorts_by_a_clicked_column(page):
    p = page.page
    calls_column = 1  # Function, Calls, Self, ...

    def calls() -> list[int]:
        cells = p.locator(f"#pg-functions tbody tr td:nth-child({calls_column + 1})")
        return [int(text.replace(",", "")) for text in cells.all_inner_texts()]

    p.locator("#pg-functions th[data-key=calls]").click()
    descending = calls()
    assert descending == sorted(descending, reverse=True) and descending[0] > descending[-1]
    assert "pg-sorted-desc" in p.locator("#pg-functions th[data-key=calls]").get_attribute("class")
    p.locator("#pg-functions th[data-key=calls]").click()
    assert calls() == sorted(descending)
    page.screenshot("report-table-sorted.png")
    # The filter keeps only matching rows.
    p.locator("#pg-functions input.pg-filter").fill("helper")
    names = p.locator("#pg-functions tbody td.pg-fn").all_inner_texts()
    assert len(names) == 2 and all("helper" in name for name in names)


def test_search_highlights_matching_frames(page):
    p = page.page
    p.locator("#pg-flame input.pg-search").fill("leaf")
    matches = p.locator("#pg-flame .pg-frame.pg-match")
    assert matches.count() >= 2  # leaf under both helpers (and nasty)
    assert all("leaf" in text for text in matches.all_inner_texts() if text)
    assert "functions match" in p.locator(".pg-search-status").inner_text()
    page.screenshot("report-search.png")
    p.locator("#pg-flame input.pg-search").fill("")
    assert p.locator("#pg-flame .pg-frame.pg-match").count() == 0


def test_markup_in_names_renders_as_text(page):
    p = page.page
    # THEN the name is in the table as text and no element was injected
    cell = p.locator("#pg-functions td.pg-fn", has_text="</script><b>&")
    assert cell.count() == 1
    assert p.locator("#pg-sections b").count() == 0
    p.locator("#pg-functions input.pg-filter").fill("</script>")
    assert p.locator("#pg-functions tbody tr").count() == 1
    frame = p.locator("#pg-flame .pg-frame", has_text="</script>")
    assert frame.count() == 1
    frame.hover()
    tooltip = p.locator("#pg-tooltip")
    assert tooltip.is_visible() and "</script><b>&" in tooltip.inner_text()
    page.screenshot("report-markup-name.png")


def test_tree_expands_and_collapses(page):
    p = page.page
    opened = p.locator("#pg-tree .pg-tree-node").count()
    node = p.locator("#pg-tree .pg-tree-node[aria-expanded]").first.get_attribute("data-node")
    toggle = p.locator(f'#pg-tree .pg-tree-node[data-node="{node}"] > .pg-tree-row .pg-toggle')
    assert toggle.inner_text() == "\u25be"
    toggle.click()
    collapsed = p.locator("#pg-tree .pg-tree-node").count()
    assert collapsed < opened
    assert toggle.inner_text() == "\u25b8"
    toggle.click()
    assert p.locator("#pg-tree .pg-tree-node").count() > collapsed


def test_large_report_is_interactive_in_the_browser(browser, tmp_path):
    # GIVEN a profile with 250,000 call paths (500 functions x 500)
    count = 500
    source = "".join(f"def f{i}(outer):\n    if outer:\n        for g in FUNCS:\n            g(False)\n"
                     for i in range(count))
    namespace: dict = {}
    exec(compile(source, "<many>", "exec"), namespace)  # noqa: S102 - generated test program
    namespace["FUNCS"] = [namespace[f"f{i}"] for i in range(count)]
    with pipegauge.profile(builtins=False) as run:
        for function in namespace["FUNCS"]:
            function(True)
    path = render(run, tmp_path / "large.html")
    # WHEN opened THEN it loads, and a click zooms
    opened = Page(browser, path)
    p = opened.page
    assert p.locator("#pg-flame .pg-frame").count() > 10
    assert p.locator("#pg-header .pg-note", has_text="merged into").count() == 1
    widths = opened.frame_widths()
    widest = max((node for node in widths if node != "0"), key=widths.get)
    p.locator(f'#pg-flame .pg-frame[data-node="{widest}"]').click()
    assert p.locator(".pg-breadcrumbs a.pg-crumb").count() == 1
    opened.screenshot("report-large.png")
    opened.close()


@pytest.fixture(scope="module", autouse=True)
def _no_stale_screenshots():
    """Screenshots left by an earlier run must not pass for this run's."""
    for stale in ARTIFACTS.glob("report-*.png"):
        stale.unlink()


STAGED_PROGRAM = """
    import time
    from concurrent.futures import ThreadPoolExecutor
    from pipegauge import stage

    @stage("read <&>")
    def read(n):
        yield from range(n)

    @stage("parse")
    def parse(items):
        for item in items:
            end = time.perf_counter() + 0.0005
            while time.perf_counter() < end:
                pass
            yield item

    @stage("load")
    def load(batch):
        time.sleep(0.002)
        return batch

    rows = list(parse(read(200)))
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(load, [rows[i:i + 20] for i in range(0, 200, 20)]))
"""


def test_stages_section_shows_table_verdict_and_gantt(browser, tmp_path):
    # GIVEN a run with declared stages, one of them on two threads
    (tmp_path / "prog.py").write_text(textwrap.dedent(STAGED_PROGRAM), encoding="utf-8")
    completed = subprocess.run(pipegauge_command("run", "-o", str(tmp_path / "run"), "prog.py"),
                               cwd=tmp_path, env=child_env(), capture_output=True, text=True,
                               timeout=TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr
    # WHEN its report is opened
    opened = Page(browser, tmp_path / "run" / "report.html")
    p = opened.page
    try:
        # THEN the stages section has the verdict, the diagram and one row per stage
        section = p.locator("#pg-stages")
        assert section.count() == 1
        assert p.locator("#pg-stages .pg-verdict").inner_text().startswith("parse limits throughput")
        assert p.locator("#pg-stages .pg-diagram").inner_text() == "read <&> -> [parse] -> load"
        rows = p.locator("#pg-stages tbody tr")
        assert rows.count() == 3
        assert p.locator("#pg-stages tr.pg-bottleneck").get_attribute("data-stage") == "parse"
        assert p.locator('#pg-stages tr[data-stage="load"] td').nth(2).inner_text() == "200"
        # AND the Allocated column shows each stage's own heap bytes (memory on)
        data = p.evaluate("window.pgReport.model.data.stages")
        headings = p.locator("#pg-stages thead th").all_text_contents() or \
            p.locator("#pg-stages tr").first.locator("th").all_text_contents()
        column = headings.index("Allocated")
        for stage in data["stages"]:
            assert stage["memory"] is not None and stage["memory_measured"] > 0, stage
            cell = p.locator(f'#pg-stages tr[data-stage="{stage["name"]}"] td').nth(column)
            assert cell.inner_text().endswith("B"), cell.inner_text()
        # AND the Gantt view draws every span, load on two thread rows
        assert p.locator("#pg-stages svg.pg-gantt rect.pg-span").count() == len(data["spans"])
        labels = p.locator("#pg-stages .pg-gantt-label").all_text_contents()
        assert sum(label.startswith("load \u00b7 thread ") for label in labels) == 2
        # AND hovering a span shows its numbers
        p.locator("#pg-stages rect.pg-span").last.hover()
        assert "Invocations" in p.locator("#pg-tooltip").inner_text()
        opened.screenshot("report-stages.png")
    finally:
        opened.close()
