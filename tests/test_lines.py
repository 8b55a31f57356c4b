"""Line-level heat (--lines): the tracer's per-line times on real programs,
threshold choice, `view --lines`, the LINE section through both readers,
JSON, and the HTML source view in a real Chromium."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import Result
from pipegauge import _core
from pipegauge._format import read_profile

NEEDS_MONITORING = pytest.mark.skipif(sys.version_info < (3, 12),
                                      reason="deterministic line heat needs sys.monitoring (3.12+)")

# One loop whose body has a clearly hot line (a big-integer product: ~10 us
# in the function's own frame) and a cheap one; a second function that is
# never named; a module-level driver.
HOT_PROGRAM = """
    BIG = 7 ** 4000
    MOD = 10 ** 1500 + 3

    def work(rounds):
        acc = 1
        count = 0
        for _ in range(rounds):
            acc = (acc * BIG) % MOD  # HOT
            count += 1  # CHEAP
        return count

    def other(n):
        return sum(range(n))

    for _ in range(6):
        work(400)
        other(1000)
"""
HOT_CALLS, HOT_ROUNDS = 6, 400


def line_of(source: str, marker: str) -> int:
    for number, text in enumerate(textwrap.dedent(source).splitlines(), start=1):
        if marker in text:
            return number
    raise AssertionError(marker)


def function_index(profile: _core.Profile, name: str) -> int:
    names = [record[0] for record in profile.functions()]
    return names.index(name)


def rows_of(profile, func: int) -> dict[int, tuple[int, int, int]]:
    return {line: (own, total, hits) for f, line, own, total, hits in profile.line_heat() if f == func}


def record(pipegauge, write_script, source: str, *flags: str) -> tuple[Result, Path]:
    write_script(source)
    result = pipegauge("run", "--no-timeline", "-o", "out", *flags, "prog.py")
    assert result.returncode == 0, result.stderr
    return result, result.cwd / "out"


def assert_one_error_line(result: Result, *needles: str) -> None:
    assert result.returncode != 0
    lines = result.stderr_lines
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pipegauge: error: "), lines[0]
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@NEEDS_MONITORING
def test_named_function_gets_exact_hits_and_its_hot_line_dominates(pipegauge, write_script):
    # GIVEN a program whose work() spends nearly all its time on one line
    # WHEN it runs with --lines-for work (no threshold choice)
    _, out = record(pipegauge, write_script, HOT_PROGRAM, "--lines-for", "work",
                    "--lines-threshold", "0")
    profile = _core.Profile.read(str(out / "profile.pgprof"))
    work = function_index(profile, "work")
    rows = rows_of(profile, work)
    hot, cheap = line_of(HOT_PROGRAM, "# HOT"), line_of(HOT_PROGRAM, "# CHEAP")
    # THEN only work has line heat, every line counted exactly
    assert {f for f, *_ in profile.line_heat()} == {work}
    assert rows[hot][2] == HOT_CALLS * HOT_ROUNDS
    assert rows[cheap][2] == HOT_CALLS * HOT_ROUNDS
    assert rows[hot - 3][2] == HOT_CALLS  # acc = 1
    # AND the hot line holds >= 80% of the function's own (self) time
    own_total = sum(own for own, _, _ in rows.values())
    assert rows[hot][0] >= 0.8 * own_total, rows
    for own, total, _ in rows.values():
        assert own <= total
    # AND the lines add up to (nearly) the function's measured time
    record_ = profile.functions(False)[work]
    total_ns = record_[8]
    assert 0.7 * total_ns <= sum(total for _, total, _ in rows.values()) <= 1.05 * total_ns
    assert profile.meta["lines.functions"] == "1"


@NEEDS_MONITORING
def test_self_excludes_callees_and_total_includes_them(pipegauge, write_script):
    # GIVEN a line that only calls a slow Python function
    source = """
        import time

        def slow():
            time.sleep(0.05)

        def caller():
            x = 1
            slow()  # CALL
            return x

        for _ in range(4):
            caller()
    """
    _, out = record(pipegauge, write_script, source, "--lines-for", "caller",
                    "--lines-threshold", "0")
    profile = _core.Profile.read(str(out / "profile.pgprof"))
    rows = rows_of(profile, function_index(profile, "caller"))
    own, total, hits = rows[line_of(source, "# CALL")]
    # THEN its total holds the callee's time and its self almost none
    assert hits == 4
    assert total >= 4 * 0.045e9
    assert own < 0.05 * total


@NEEDS_MONITORING
def test_generator_resume_charges_the_rest_of_its_line(pipegauge, write_script):
    # GIVEN a generator whose heavy work follows the yield on the same line
    source = """
        BIG = 7 ** 4000
        MOD = 10 ** 1500 + 3

        def gen(n):
            acc = 1
            for i in range(n):
                acc = (acc * BIG * ((yield i) or 1)) % MOD  # YIELD
            return acc

        for _ in range(5):
            for x in gen(300):
                pass
    """
    _, out = record(pipegauge, write_script, source, "--lines-for", "gen",
                    "--lines-threshold", "0")
    profile = _core.Profile.read(str(out / "profile.pgprof"))
    rows = rows_of(profile, function_index(profile, "gen"))
    own, total, hits = rows[line_of(source, "# YIELD")]
    # THEN the line counts one hit per execution (not per resume) and holds
    # the time after the resumes (nearly all of the generator's)
    assert hits == 5 * 300
    assert own >= 0.8 * sum(row[0] for row in rows.values()), rows


@NEEDS_MONITORING
def test_threshold_picks_the_dominant_function_and_not_a_small_one(pipegauge, write_script):
    # GIVEN dominant() with ~95% of the own time and tiny() with ~1%, called
    # many times over ~1 s
    source = """
        def dominant():
            s = 0
            for i in range(60000):
                s += i * i  # HEAVY
            return s

        def tiny():
            s = 0
            for i in range(600):
                s += i
            return s

        for _ in range(60):
            dominant()
            tiny()
    """
    # WHEN it runs with --lines (default threshold 5%)
    _, out = record(pipegauge, write_script, source, "--lines")
    profile = _core.Profile.read(str(out / "profile.pgprof"))
    dominant, tiny = function_index(profile, "dominant"), function_index(profile, "tiny")
    heat_funcs = {f for f, *_ in profile.line_heat()}
    # THEN dominant has line heat, tiny has none
    assert dominant in heat_funcs
    assert tiny not in heat_funcs
    rows = rows_of(profile, dominant)
    assert rows[line_of(source, "# HEAVY")][2] > 0
    # AND the profile says from when dominant's heat counts
    since = dict(item.split(":") for item in profile.meta["lines.since"].split(","))
    assert int(since[str(dominant)]) > 0


@NEEDS_MONITORING
def test_view_lines_prints_source_with_heat_and_marks_the_hot_line(pipegauge, write_script):
    record(pipegauge, write_script, HOT_PROGRAM, "--lines-for", "work")
    # WHEN the line view of work is asked for
    result = pipegauge("view", "out", "--lines", "work")
    # THEN it prints work's source, one row per line, the hot line marked
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("(work)")
    hot = [line for line in lines if "# HOT" in line]
    assert len(hot) == 1 and hot[0].startswith(">"), result.stdout
    assert "#" in hot[0].split("acc =")[0]  # a bar
    share = float(hot[0].split("%")[0].split()[-1])
    assert share >= 80.0
    assert any("def work(rounds):" in line for line in lines)
    assert not any("def other" in line for line in lines)
    assert all(len(line) <= 80 for line in lines)


@NEEDS_MONITORING
def test_view_lines_bad_inputs_give_one_error_line(pipegauge, write_script, workdir):
    source = """
        class A:
            def work(self):
                return sum(range(20000))

        class B:
            def work(self):
                return sum(range(20000))

        for _ in range(3):
            A().work()
            B().work()
    """
    record(pipegauge, write_script, source, "--lines-for", "work")
    # ambiguous: both A.work and B.work have line heat
    assert_one_error_line(pipegauge("view", "out", "--lines", "work"), "ambiguous", "A.work",
                          "B.work")
    # no such function
    assert_one_error_line(pipegauge("view", "out", "--lines", "nosuch"), "no function matches")
    # a function without line heat
    assert_one_error_line(pipegauge("view", "out", "--lines", "<module>"), "no line heat")
    # the exact qualified name is not ambiguous
    assert pipegauge("view", "out", "--lines", "A.work").returncode == 0
    # the source changed after the run
    prog = workdir / "prog.py"
    prog.write_text(prog.read_text() + "\n# edited\n")
    assert_one_error_line(pipegauge("view", "out", "--lines", "A.work"), "modified after the run")
    # the source is gone
    prog.unlink()
    assert_one_error_line(pipegauge("view", "out", "--lines", "A.work"), "cannot show the source")


def test_view_lines_without_line_heat_says_how_to_get_it(pipegauge, write_script):
    record(pipegauge, write_script, HOT_PROGRAM)
    assert_one_error_line(pipegauge("view", "out", "--lines", "work"), "--lines", "--mode sample")


def test_bad_line_options_give_one_error_line(pipegauge, write_script):
    write_script(HOT_PROGRAM)
    for flags in (["--lines-threshold", "1.5"], ["--lines-threshold", "x"], ["--lines-for", ""]):
        result = pipegauge("run", "-o", "out", *flags, "prog.py")
        assert result.returncode != 0, flags
        assert "Traceback" not in result.stderr
        assert [line for line in result.stderr_lines if "error" in line], result.stderr


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.10/3.11: line heat from samples")
def test_lines_before_312_come_from_samples_beside_the_tracer(pipegauge, write_script):
    # GIVEN the hot-line program run long enough for a few hundred samples
    source = HOT_PROGRAM.replace("range(6)", "range(12)")
    # WHEN it runs deterministically with --lines-for work on 3.10/3.11
    result, out = record(pipegauge, write_script, source, "--lines-for", "work")
    profile = _core.Profile.read(str(out / "profile.pgprof"))
    # THEN no warning: line heat comes from samples (said in the run log)
    assert not [line for line in result.stderr_lines if "warning" in line.lower()], result.stderr
    assert profile.meta["lines.mode"] == "sample"
    assert int(profile.meta["lines.samples"]) >= 100
    # AND the hot line holds >= 80% of work's own time from the samples
    work = function_index(profile, "work")
    rows = rows_of(profile, work)
    hot = line_of(source, "# HOT")
    own_total = sum(own for own, _, _ in rows.values())
    assert rows[hot][0] >= 0.8 * own_total, rows
    # AND the call tree is still the tracer's: exact calls, no sampled tree
    assert profile.meta["mode"] == "deterministic"
    assert profile.functions(False)[work][4] == 12
    assert "samples" not in [metric[0] for metric in profile.metrics()]


@NEEDS_MONITORING
def test_line_heat_file_round_trip_both_readers_json_and_merge(pipegauge, write_script, tmp_path):
    _, out = record(pipegauge, write_script, HOT_PROGRAM, "--lines-for", "work")
    path = out / "profile.pgprof"
    native = _core.Profile.read(str(path))
    heat = native.line_heat()
    assert heat
    # THEN the pure-Python reader gives the same tuples
    assert read_profile(path).line_heat() == heat
    # AND writing again keeps them
    copy_path = tmp_path / "copy.pgprof"
    native.write(str(copy_path))
    assert _core.Profile.read(str(copy_path)).line_heat() == heat
    # AND merging a profile with itself doubles times and hits per line
    merged = _core.Profile.read(str(path))
    merged.merge(_core.Profile.read(str(path)))
    doubled = {(f, line): (own, total, hits) for f, line, own, total, hits in merged.line_heat()}
    for f, line, own, total, hits in heat:
        assert doubled[(f, line)][2] == 2 * hits
        assert abs(doubled[(f, line)][1] - 2 * total) <= 2
    # AND the JSON export carries them
    result = pipegauge("export", "out", "--format", "json", "-o", "-")
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)["line_heat"]
    assert [(r["function"], r["line"], r["self_ns"], r["total_ns"], r["hits"])
            for r in exported] == heat


@NEEDS_MONITORING
def test_api_and_environment_options(pipegauge, write_script, tmp_path):
    import pipegauge as api

    def busy():
        total = 0
        for i in range(20000):
            total += i % 3
        return total

    with api.profile(lines_for=["busy"], output_dir=str(tmp_path / "api"), history=False) as run:
        busy()
    profile = run.profile
    func = function_index(profile, busy.__qualname__)
    assert rows_of(profile, func)
    # the configuration key, through the environment
    write_script(HOT_PROGRAM)
    result = pipegauge("run", "--no-timeline", "-o", "out", "prog.py",
                       env={"PIPEGAUGE_LINES_FOR": "work", "PIPEGAUGE_LINES_THRESHOLD": "0"})
    assert result.returncode == 0, result.stderr
    env_profile = _core.Profile.read(str(result.cwd / "out" / "profile.pgprof"))
    assert {f for f, *_ in env_profile.line_heat()} == {function_index(env_profile, "work")}


# ------------------------------------------------------------ in the browser

@NEEDS_MONITORING
def test_report_source_view_draws_the_widest_bar_on_the_hot_line(pipegauge, write_script):
    from test_report import Page, _browser_or_skip, CHROMIUM

    sync_playwright = _browser_or_skip()
    _, out = record(pipegauge, write_script, HOT_PROGRAM, "--lines-for", "work")
    result = pipegauge("report", "out", "-o", "report.html")
    assert result.returncode == 0, result.stderr
    profile = _core.Profile.read(str(out / "profile.pgprof"))
    work = function_index(profile, "work")
    hot = line_of(HOT_PROGRAM, "# HOT")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = Page(browser, result.cwd / "report.html")
            p = page.page
            assert p.locator("#pg-source").count() == 1
            assert "null" not in p.locator("#pg-source").inner_text()
            # WHEN the function is clicked in the function table
            p.locator(f"#pg-functions tr[data-func='{work}'] td.pg-fn").click()
            table = p.locator(f"#pg-source table.pg-src[data-func='{work}']")
            table.wait_for()
            # THEN its source is shown with a bar per measured line, the
            # hot line's the widest
            widths = {}
            rows = table.locator("tbody tr")
            for index in range(rows.count()):
                row = rows.nth(index)
                box = row.locator(".pg-src-bar").bounding_box()
                widths[int(row.get_attribute("data-line"))] = box["width"] if box else 0.0
            assert max(widths, key=widths.get) == hot, widths
            assert widths[hot] > 0
            assert "acc = (acc * BIG) % MOD" in table.locator(f"tr[data-line='{hot}']").inner_text()
            assert "pg-src-hot" in table.locator(f"tr[data-line='{hot}']").get_attribute("class")
            page.screenshot("report-source-view.png")
            page.close()
        finally:
            browser.close()
