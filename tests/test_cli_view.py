"""`pipegauge view`: the table, the tree, sorting, filtering, colour."""

from __future__ import annotations

import os
import pty
import re
import subprocess

import pytest

from conftest import child_env, pipegauge_command

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

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def profiled(pipegauge, write_script):
    """A run of WORKLOAD; returns its run directory."""
    write_script(WORKLOAD)
    result = pipegauge("run", "prog.py")
    assert result.returncode == 0, result.stderr
    return result.only_run_dir()


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
    # AND the pstats-like columns, every line within 100 columns, no colour off a TTY
    heading = next(line for line in out.splitlines() if "ncalls" in line)
    assert heading.split() == ["ncalls", "tottime", "percall", "cumtime", "percall", "p50", "p95", "max",
                               "share", "function"]
    assert all(len(line) <= 100 for line in out.splitlines()), max(out.splitlines(), key=len)
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
    assert all(len(line) <= 100 for line in lines if "(recursive)" not in line)
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
    def view_on_tty(extra_env: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        try:
            process = subprocess.Popen(pipegauge_command("view", str(profiled)), cwd=workdir,
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

    # WHEN NO_COLOR is unset, THEN ANSI colour is used
    assert ANSI.search(view_on_tty({}))
    # WHEN NO_COLOR is set, THEN none
    assert not ANSI.search(view_on_tty({"NO_COLOR": "1"}))
