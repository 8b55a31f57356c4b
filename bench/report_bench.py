"""HTML report benchmark: a synthetic profile with about 1,000,000 call-tree
nodes, rendered to report.html, opened in Chromium; prints the profile's
size, the report's size and the page's time to interactive.

Not a test. Needs pipegauge installed, and for the browser part Playwright's
Python package and a Chromium binary (default /usr/bin/chromium).

    python bench/report_bench.py [--functions 1000] [--chromium PATH] [--keep DIR]

The profile is real: pipegauge traces a generated program in which each of N
functions calls each of the N, so the call tree has N*N + N + 2 nodes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pipegauge
from pipegauge import _core
from pipegauge.report import MAX_BYTES, render


def build_program(count: int) -> dict[str, object]:
    """count functions f0..f{count-1}; fi(True) calls every fj(False)."""
    source = []
    for i in range(count):
        source.append(
            f"def f{i}(outer):\n"
            f"    if outer:\n"
            f"        for g in FUNCS:\n"
            f"            g(False)\n"
            f"    else:\n"
            f"        return {i % 7}\n"
        )
    namespace: dict[str, object] = {}
    exec(compile("".join(source), "<report_bench>", "exec"), namespace)  # noqa: S102 - our own generated code
    namespace["FUNCS"] = [namespace[f"f{i}"] for i in range(count)]
    return namespace


def synthetic_profile(count: int) -> _core.Profile:
    namespace = build_program(count)
    funcs = namespace["FUNCS"]
    assert isinstance(funcs, list)

    def main() -> None:
        for function in funcs:
            function(True)

    with pipegauge.profile(builtins=False) as run:
        main()
    assert run.profile is not None
    return run.profile


def time_to_interactive(html: Path, chromium: str) -> tuple[float, float, float, float]:
    """(wall ms from navigation to ready, page clock at ready, boot script ms, click-zoom ms)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        # The report's Content-Security-Policy forbids eval, which Playwright's
        # evaluate() needs; readiness itself is a selector (html[data-pg-ready]).
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        started = time.perf_counter()
        page.goto(html.as_uri(), wait_until="commit")
        page.wait_for_selector("html[data-pg-ready]", state="attached", timeout=60_000)
        wall_ms = (time.perf_counter() - started) * 1000
        # The page's clock: from navigation start to the end of boot.
        ready_ms = page.evaluate("performance.now()")
        boot_ms = page.evaluate("window.pgReport.bootMs")
        # The widest frame two levels down (main -> fN): a zoom that redraws.
        node = page.evaluate(
            "(() => { const f = window.pgReport.sections[1].state.frames.filter((x) => x.depth === 2);"
            " f.sort((a, b) => b.w - a.w); return f[0].node; })()")
        frame = page.locator(f'.pg-frame[data-node="{node}"]')
        started = time.perf_counter()
        frame.click()
        page.wait_for_selector(".pg-breadcrumbs a.pg-crumb")
        zoom_ms = (time.perf_counter() - started) * 1000
        browser.close()
        if errors:
            raise SystemExit(f"page errors: {errors}")
        return wall_ms, min(ready_ms, wall_ms), boot_ms, zoom_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=1000, help="N (nodes = N*N + N + 2)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--keep", metavar="DIR", help="keep the profile and report in DIR")
    args = parser.parse_args()

    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="pg-report-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    profile = synthetic_profile(args.functions)
    profile_path = out / "profile.pgprof"
    profile.write(os.fspath(profile_path))
    print(f"profile: {profile.node_count:,} call-tree nodes, {profile.function_count:,} functions, "
          f"{profile_path.stat().st_size / 1e6:.1f} MB on disk (built in {time.perf_counter() - started:.1f} s)")

    loaded = _core.Profile.read(os.fspath(profile_path))
    html = out / "report.html"
    started = time.perf_counter()
    render(loaded, html)
    render_s = time.perf_counter() - started
    size = html.stat().st_size
    print(f"report: {size / 1e6:.2f} MB (limit {MAX_BYTES / 1e6:.2f} MB: {'PASS' if size <= MAX_BYTES else 'FAIL'}), "
          f"rendered in {render_s:.2f} s")

    if not os.path.exists(args.chromium):
        print(f"chromium not found at {args.chromium}: time to interactive not measured")
        return
    wall_ms, ready_ms, boot_ms, zoom_ms = time_to_interactive(html, args.chromium)
    verdict = "PASS" if wall_ms < 3000 else "FAIL"
    print(f"time to interactive: {wall_ms:.0f} ms from navigation (limit 3000 ms: {verdict}); "
          f"page clock at ready {ready_ms:.0f} ms, of which boot script {boot_ms:.0f} ms; "
          f"click-to-zoom {zoom_ms:.0f} ms")
    if not args.keep:
        print(f"files left in {out}")


if __name__ == "__main__":
    main()
