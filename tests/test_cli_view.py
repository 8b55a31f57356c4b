"""`pipegauge view`: the table, the tree, the charts, sorting, filtering,
colour, and 80 columns for all of it."""

from __future__ import annotations

import os
import pty
import re
import subprocess

import pytest

from conftest import assert_one_error_line, child_env, pipegauge_command

WORKLOAD = """
    import time

    def parse(line):
        return line.split(",")

    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def slow():
        time.sleep(0.05)

    def pipeline():
        rows = [parse(f"{i},{i * 2},x") for i in range(2000)]
        fib(15)
        slow()
        return len(rows)

    pipeline()
"""

# Very long names everywhere: a deep directory, a long module file, a long
# class and method, a long function, deep recursion. leaf is called exactly
# twice as often as half, for the proportions of the calls chart.
LONG_MODULE = """
    class AnExtraordinarilyLongClassNameForAStageThatTransformsEveryIncomingRecord:
        def and_a_method_whose_name_is_just_as_long_so_that_nothing_fits_in_a_line(self, n):
            return [leaf(i) for i in range(n)]

    def leaf(i):
        return i * 2

    def half(i):
        return i + 1

    def descend_recursively_through_many_levels_of_a_very_deep_call_tree(n):
        if n:
            return descend_recursively_through_many_levels_of_a_very_deep_call_tree(n - 1)
        return sum(range(1000))
"""

LONG_MAIN = """
    import time
    from a_module_file_with_a_name_long_enough_to_overflow_any_column import (
        AnExtraordinarilyLongClassNameForAStageThatTransformsEveryIncomingRecord as Stage,
        descend_recursively_through_many_levels_of_a_very_deep_call_tree as descend,
        half,
    )

    def main():
        Stage().and_a_method_whose_name_is_just_as_long_so_that_nothing_fits_in_a_line(20000)
        for i in range(10000):
            half(i)
        descend(60)
        time.sleep(0.02)

    main()
"""
LONG_DIR = "a_directory_with_a_long_name/and_another_level_below_it_with_a_long_name"

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def profiled(pipegauge, write_script):
    """A run of WORKLOAD; returns its run directory."""
    write_script(WORKLOAD)
    result = pipegauge("run", "prog.py")
    assert result.returncode == 0, result.stderr
    return result.only_run_dir()


@pytest.fixture
def long_names(pipegauge, write_script, workdir):
    """A run of LONG_MAIN (in a deep directory) importing LONG_MODULE; returns its run directory."""
    write_script(LONG_MODULE, f"{LONG_DIR}/a_module_file_with_a_name_long_enough_to_overflow_any_column.py")
    write_script(LONG_MAIN, f"{LONG_DIR}/the_main_program_of_this_pipeline_with_a_long_name_too.py")
    result = pipegauge("run", f"{LONG_DIR}/the_main_program_of_this_pipeline_with_a_long_name_too.py")
    assert result.returncode == 0, result.stderr
    return result.only_run_dir()


def too_wide(stdout: str) -> list[str]:
    """The lines wider than 80 columns (colour codes not counted)."""
    return [line for line in ANSI.sub("", stdout).splitlines() if len(line) > 80]


def chart(stdout: str, metric: str) -> list[tuple[str, int, str]]:
    """The rows of the 'top N by METRIC' chart: (label, bar length, value)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(rf"top \d+ by {metric}", line))
    rows = []
    for line in lines[start + 1:]:
        match = re.fullmatch(r"  (.*?\S) +(#+) +(\S+)", line)
        if not match:
            break
        rows.append((match.group(1), len(match.group(2)), match.group(3)))
    return rows


def table_rows(stdout: str) -> list[str]:
    """The table's data lines (after the 'ncalls' heading)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return [line for line in lines[start + 1:] if line.strip() and not line.startswith("(")]


def test_table_has_header_columns_and_fits(pipegauge, profiled):
    # GIVEN a run
    # WHEN viewed
    result = pipegauge("view", str(profiled))
    # THEN a header says what ran, how long, the overhead and profiler memory
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "prog.py" in out
    assert re.search(r"duration\s+\S+ wall, [\d,]+ events", out)
    assert re.search(r"overhead\s+~\S+ estimated \(\S+ of the run", out)
    assert "profiler memory" in out
    assert "corrected for the profiler's overhead" in out
    # AND the pstats-like columns, every line within 80 columns, no colour off a TTY
    heading = next(line for line in out.splitlines() if "ncalls" in line)
    assert heading.split() == ["ncalls", "tottime", "cumtime", "p50", "p95", "max", "share", "function"]
    assert not too_wide(out), too_wide(out)
    assert not ANSI.search(out)
    # AND recursive functions show calls/primitive calls, builtins their pstats label
    fib_row = next(row for row in table_rows(out) if "(fib)" in row)
    assert fib_row.split()[0] == "1973/1"
    assert any("{method 'split' of 'str' objects}" in row or "{str.split}" in row for row in table_rows(out))
    # AND the sleeping function's share bar is the biggest
    first = table_rows(out)[0]
    assert "sleep" in first
    assert "#" in first


def test_sort_limit_filter(pipegauge, profiled):
    # WHEN sorted by calls and limited to 2
    result = pipegauge("view", str(profiled), "--sort", "calls", "--limit", "2")
    rows = table_rows(result.stdout)
    # THEN the two most-called functions, most first
    assert result.returncode == 0
    assert len(rows) == 2
    counts = [int(row.split()[0].split("/")[0]) for row in rows]
    assert counts == sorted(counts, reverse=True)
    assert "2 of" in result.stdout
    # WHEN sorted by name
    by_name = pipegauge("view", str(profiled), "--sort", "name", "--limit", "0")
    assert by_name.returncode == 0
    # WHEN filtered by substring and by glob
    only_parse = table_rows(pipegauge("view", str(profiled), "--filter", "parse").stdout)
    assert only_parse and all("parse" in row.lower() for row in only_parse)
    globbed = table_rows(pipegauge("view", str(profiled), "--filter", "*(fib)").stdout)
    assert len(globbed) == 1 and "(fib)" in globbed[0]
    # AND every documented sort key is accepted
    for key in ("tottime", "cumtime", "calls", "pcalls", "p50", "p95", "p99", "max", "name", "file"):
        assert pipegauge("view", str(profiled), "--sort", key).returncode == 0, key


def test_tree(pipegauge, profiled):
    # WHEN viewed as a tree
    result = pipegauge("view", str(profiled), "--tree")
    out = result.stdout
    # THEN the root frame is at the top with ~100%, callees indented below it
    assert result.returncode == 0, result.stderr
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "total%" in line)
    body = [line for line in lines[start + 1:] if line and not line.startswith("(")]
    assert "(<module>)" in body[0]
    percent = float(body[0].split("%")[0])
    assert 70.0 <= percent <= 100.0  # the rest: starting and stopping the tracer
    pipeline_line = next(line for line in body if "(pipeline)" in line)
    slow_line = next(line for line in body if "(slow)" in line)

    def indent(line: str) -> int:
        cells = re.match(r"\s*[\d.]+%\s+\S+\s+\S+\s+\d+  ( *)", line)
        assert cells, line
        return len(cells.group(1))

    assert indent(slow_line) > indent(pipeline_line) > indent(body[0])
    assert not too_wide(out), too_wide(out)
    # AND recursion is marked (fib's paths are small: show everything)
    everything = pipegauge("view", str(profiled), "--tree", "--min-percent", "0").stdout
    assert re.search(r"\(fib\) \(recursive\)", everything)
    # WHEN pruning harder and limiting the depth
    pruned = pipegauge("view", str(profiled), "--tree", "--min-percent", "50", "--max-depth", "2").stdout
    assert "(slow)" not in pruned or "(parse)" not in pruned
    assert "hidden" in pruned
    # WHEN filtering the tree
    filtered = pipegauge("view", str(profiled), "--tree", "--filter", "slow").stdout
    assert "(slow)" in filtered and "(parse)" not in filtered and "(pipeline)" in filtered


def test_no_correct_changes_header(pipegauge, profiled):
    result = pipegauge("view", str(profiled), "--no-correct")
    assert result.returncode == 0
    assert "raw, not corrected" in result.stdout


def test_latest_profile_file_and_run_name(pipegauge, profiled, workdir):
    # GIVEN a run directory
    # WHEN naming it by 'latest', by its profile file, and by its name
    by_latest = pipegauge("view", "latest")
    by_file = pipegauge("view", str(profiled / "profile.pgprof"))
    by_name = pipegauge("view", profiled.name)
    # THEN all show the same run
    assert by_latest.returncode == by_file.returncode == by_name.returncode == 0
    assert by_latest.stdout == by_file.stdout == by_name.stdout


def test_colour_only_on_a_tty(profiled, workdir):
    # GIVEN a run, viewed with stdout on a pseudo-terminal
    def view_on_tty(extra_env: dict[str, str], *args: str) -> str:
        leader, follower = pty.openpty()
        try:
            process = subprocess.Popen(pipegauge_command("view", str(profiled), *args), cwd=workdir,
                                       env=child_env(extra_env), stdout=follower,
                                       stderr=subprocess.PIPE)
            os.close(follower)
            chunks = []
            while True:
                try:
                    data = os.read(leader, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            process.wait(timeout=60)
        finally:
            os.close(leader)
        return b"".join(chunks).decode()

    # WHEN NO_COLOR is unset, THEN ANSI colour is used, and the text still fits 80 columns
    for args in ((), ("--tree", "--charts")):
        coloured = view_on_tty({}, *args)
        assert ANSI.search(coloured), args
        assert not too_wide(coloured.replace("\r\n", "\n")), args
    # WHEN NO_COLOR is set, THEN none
    assert not ANSI.search(view_on_tty({"NO_COLOR": "1"}))
    assert not ANSI.search(view_on_tty({"NO_COLOR": "1"}, "--tree", "--charts"))


def test_every_view_fits_80_columns_with_very_long_names(pipegauge, long_names):
    # GIVEN a run whose files, classes, methods and functions have very long names
    # WHEN viewed as a table, a tree and charts, with and without --limit
    views = {
        "default": (),
        "flat": ("--flat", "--limit", "0"),
        "tree": ("--tree", "--min-percent", "0"),
        "charts": ("--charts", "--limit", "0"),
        "tree+charts": ("--tree", "--charts", "--limit", "3"),
        "no match": ("--filter", "x" * 200),
        "no tree match": ("--tree", "--filter", "x" * 200),
        "resources": ("--resources", "--limit", "0"),
        "sort mem": ("--sort", "mem"),
    }
    for name, args in views.items():
        result = pipegauge("view", str(long_names), *args)
        # THEN it succeeds, every line fits 80 columns, and there is no colour off a TTY
        assert result.returncode == 0, (name, result.stderr)
        assert not too_wide(result.stdout), (name, too_wide(result.stdout))
        assert not ANSI.search(result.stdout), name
    # AND long labels are cut in the middle, keeping the file's line and the name's ends readable
    flat = pipegauge("view", str(long_names), "--flat", "--limit", "0").stdout
    method = next(row for row in table_rows(flat) if row.endswith("_a_line)"))
    assert re.search(r":3\((AnExtr|and_a_)\S*\.\.\.\S*_a_line\)$", method), method  # qualified on 3.11+
    assert any(re.search(r" a_module\S*\.\.\.\S*\.py:9\(half\)$", row) for row in table_rows(flat)), flat
    # AND the deepest tree paths stop indenting and say how deep they are
    tree = pipegauge("view", str(long_names), "--tree", "--min-percent", "0").stdout
    assert re.search(r"\[\d+\] \S*:12\(desc\S*\) \(rec\)", tree), tree


def test_charts_are_proportional_and_memory_is_not_faked(pipegauge, long_names):
    # GIVEN a run where leaf is called exactly twice as often as half
    # WHEN viewed with charts of the top 5
    result = pipegauge("view", str(long_names), "--charts", "--limit", "5")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    # THEN a chart each by self time, total time and calls, 5 rows each, largest first
    charts = {metric: chart(out, metric) for metric in ("self time", "total time", "calls")}
    full = charts["calls"][0][1]
    assert full >= 30
    for metric, rows in charts.items():
        assert len(rows) == 5, (metric, rows)
        bars = [length for _, length, _ in rows]
        # AND the largest value's bar is full width, the others no longer, none empty
        assert bars[0] == full and bars == sorted(bars, reverse=True) and bars[-1] >= 1, (metric, bars)
    # AND a value half the largest gets half the bar, to a character
    calls = {label: (length, value) for label, length, value in charts["calls"]}
    leaf = next(pair for label, pair in calls.items() if label.endswith("(leaf)"))
    half = next(pair for label, pair in calls.items() if label.endswith("(half)"))
    assert leaf == (full, "20000") and half[1] == "10000", calls
    assert abs(half[0] - full / 2) <= 1, (half, full)
    # AND memory, recorded by default, has its chart: the Stage method's
    # list (20000 ints; built in its own <listcomp> frame before 3.12) is
    # the biggest allocation
    memory = chart(out, "memory allocated")
    assert memory and memory[0][1] == full, memory
    assert memory[0][0].endswith(("_a_line)", "listcomp>)")), memory
    # AND the table still comes first, and --flat is the default
    assert out.index("ncalls") < out.index("top 5 by self time")
    flat = pipegauge("view", str(long_names), "--flat", "--charts", "--limit", "5").stdout
    assert table_rows(flat) == table_rows(out)


def test_resource_columns_and_sorts(pipegauge, profiled):
    # GIVEN a run recorded with the default resource attribution
    # WHEN sorted by CPU time
    result = pipegauge("view", str(profiled), "--sort", "cpu")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # THEN the resource columns are shown, CPU largest first, within 80 columns
    heading = next(line for line in out.splitlines() if "ncalls" in line)
    assert heading.split() == ["ncalls", "cumtime", "cpu", "off%", "alloc", "net", "peak", "io",
                               "function"]
    assert not too_wide(out), too_wide(out)
    assert re.search(r"process\s+\S+ CPU \(\S+ user, \S+ system\), peak RSS", out)
    # AND the sleeping function is almost all off-CPU
    sleep_row = next(row for row in table_rows(out) if "(slow)" in row)
    assert int(sleep_row.split()[3].rstrip("%")) >= 90, sleep_row
    # WHEN sorted by off-CPU time THEN the sleeper comes before fib
    rows = table_rows(pipegauge("view", str(profiled), "--sort", "offcpu").stdout)
    assert [i for i, row in enumerate(rows) if "(slow)" in row][0] < \
        [i for i, row in enumerate(rows) if "(fib)" in row][0]
    # WHEN sorted by memory THEN pipeline (the rows list) comes before fib
    rows = table_rows(pipegauge("view", str(profiled), "--sort", "mem").stdout)
    assert "(pipeline)" in rows[0] or "(<module>)" in rows[0], rows
    # AND every resource key works, with the classic table under --flat
    for key in ("mem", "selfmem", "net", "peak", "allocs", "cpu", "selfcpu", "offcpu", "io", "read",
                "write"):
        assert pipegauge("view", str(profiled), "--sort", key).returncode == 0, key
    flat = pipegauge("view", str(profiled), "--flat", "--sort", "mem").stdout
    assert "share" in next(line for line in flat.splitlines() if "ncalls" in line)


def test_resource_columns_without_metrics(pipegauge, write_script):
    write_script(WORKLOAD)
    run_dir = pipegauge("run", "--no-memory", "--no-cpu", "--no-io", "prog.py").only_run_dir()
    out = pipegauge("view", str(run_dir), "--resources").stdout
    assert "recorded no resource metrics" in out
    assert all(row.split()[2] == "-" for row in table_rows(out)[1:])


def test_flat_and_tree_are_mutually_exclusive(pipegauge, profiled):
    # WHEN both layouts are asked for
    result = pipegauge("view", str(profiled), "--flat", "--tree")
    # THEN a usage error: one line, exit status 2, nothing on stdout
    line = assert_one_error_line(result, 2)
    assert "--flat" in line and "--tree" in line
    assert result.stdout == ""


def test_wide_numbers_fit_80_columns(tmp_path):
    # GIVEN functions with huge call counts and very long times
    from pipegauge._stats import FunctionStats
    from pipegauge.renderers._text import Style
    from pipegauge.renderers.charts import render_charts
    from pipegauge.renderers.table import render_table

    def function(index: int, calls: int, seconds: float) -> FunctionStats:
        return FunctionStats(name=f"f{index}_" + "n" * 90, file=str(tmp_path / ("m" * 90 + ".py")), line=123456,
                             kind="python", calls=calls, primitive_calls=calls // 7 or 1, exceptions=0,
                             self_time=seconds, total_time=seconds * 3, min=seconds, mean=seconds,
                             p50=seconds, p95=seconds, p99=seconds, max=seconds * 9, index=index)

    stats = [function(0, 123_456_789_012_345, 9.9e7), function(1, 4_567_890_123, 123_456.0), function(2, 1, 1e-9)]
    # WHEN rendered as the table and the charts
    text = (render_table(stats, cwd=str(tmp_path), limit=None, pattern=None, style=Style(False))
            + render_charts(stats, cwd=str(tmp_path), top=0, pattern=None, style=Style(False)))
    # THEN every line fits, the counts and times shortened rather than cut
    assert not too_wide(text), too_wide(text)
    assert "123T/17.6T" in text and "4.57G/653M" in text, text
    assert "34.3h" in text and "1146d" in text, text
