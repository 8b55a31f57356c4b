"""`pipegauge export`: pstats files pstats.Stats loads, and documented JSON."""

from __future__ import annotations

import io
import json
import pstats
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

WORKLOAD = """
    class Shape:
        def __init__(self, size):
            self.size = size
        def area(self):
            return self.size * self.size

    def make(n):
        return [Shape(i) for i in range(n)]

    def total(shapes):
        return sum(map(Shape.area, shapes))

    def countdown(n):
        return 0 if n == 0 else countdown(n - 1)

    def main():
        shapes = make(300)
        total(shapes)
        countdown(20)
        fn = lambda: len(shapes)
        fn()

    main()
"""


@pytest.fixture
def profiled(pipegauge, write_script):
    path = write_script(WORKLOAD)
    result = pipegauge("run", "prog.py")
    assert result.returncode == 0, result.stderr
    return result.only_run_dir(), str(path.resolve())


def test_pstats_export_loads_in_pstats(pipegauge, profiled, workdir):
    run_dir, script = profiled
    # WHEN exported as pstats
    result = pipegauge("export", str(run_dir), "--format", "pstats", "-o", "out.pstats")
    # THEN pstats.Stats loads it and prints it
    assert result.returncode == 0, result.stderr
    stats = pstats.Stats(str(workdir / "out.pstats"), stream=io.StringIO())
    stats.sort_stats("cumulative").print_stats()
    stats.print_callers()
    raw = stats.stats  # type: ignore[attr-defined]
    # AND keys are cProfile's: (file, first line, co_name)
    by_name = {(key[0], key[2]): value for key, value in raw.items()}
    assert by_name[(script, "area")][1] == 300          # nc
    assert by_name[(script, "__init__")][1] == 300
    assert by_name[(script, "make")][1] == 1
    assert by_name[(script, "<lambda>")][1] == 1
    cc, nc, tt, ct, callers = by_name[(script, "countdown")]
    assert (cc, nc) == (1, 21)
    # AND callers link functions: countdown is called by main and by itself
    caller_names = {key[2] for key in callers}
    assert caller_names == {"main", "countdown"}
    main_key = next(key for key in callers if key[2] == "main")
    assert callers[main_key][0] == 1
    # AND builtins are keyed as cProfile keys them
    assert ("~", 0, "<built-in method builtins.sum>") in raw
    assert ("~", 0, "<built-in method builtins.len>") in raw
    # AND times are seconds, cumulative >= total
    for (prim, calls, tottime, cumtime, _callers) in raw.values():
        assert tottime >= 0 and cumtime >= 0
        assert prim <= calls


def test_pstats_labels_print_like_cprofile(pipegauge, profiled, workdir):
    run_dir, _script = profiled
    pipegauge("export", str(run_dir), "--format", "pstats", "-o", "out.pstats")
    stream = io.StringIO()
    pstats.Stats(str(workdir / "out.pstats"), stream=stream).print_stats()
    text = stream.getvalue()
    assert "{built-in method builtins.sum}" in text
    assert re.search(r"prog\.py:\d+\(area\)", text)
    assert "function calls" in text


def documented_keys(section: str) -> set[str]:
    """Keys listed as `key` in the given section of docs/json-schema.md."""
    text = (REPO / "docs" / "json-schema.md").read_text(encoding="utf-8")
    part = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_0-9]+)`", part, flags=re.MULTILINE))


def test_json_export_matches_documented_schema(pipegauge, profiled, workdir):
    run_dir, script = profiled
    # WHEN exported as JSON
    result = pipegauge("export", str(run_dir), "--format", "json", "-o", "out.json")
    assert result.returncode == 0, result.stderr
    document = json.loads((workdir / "out.json").read_text())
    # THEN every key is documented, and every documented key is present
    assert set(document) == documented_keys("Top level")
    assert document["schema"] == "pipegauge.profile+json"
    assert document["version"] == 1
    assert set(document["run"]) == documented_keys("run")
    function = document["functions"][0]
    assert set(function) == documented_keys("functions[]")
    assert set(function["latency"]) == documented_keys("functions[].latency")
    assert set(function["histogram"]) == documented_keys("functions[].histogram")
    assert set(document["nodes"][0]) == documented_keys("nodes[]")
    assert set(document["edges"][0]) == documented_keys("edges[]")
    # resource metrics: described, and one {self, total} per function and node
    names = {metric["name"] for metric in document["metrics"]}
    assert {"mem.alloc_bytes", "mem.freed_bytes", "mem.peak_bytes", "cpu.ns"} <= names
    assert all(set(metric) == documented_keys("metrics[]") for metric in document["metrics"])
    for item in (function, document["nodes"][0]):
        assert set(item["metrics"]) == names
        assert all(set(pair) == {"self", "total"} for pair in item["metrics"].values())
    assert document["nodes"][0]["metrics"]["mem.alloc_bytes"]["total"] > 0
    assert document["thread_io"] and all(set(row) == documented_keys("thread_io[]")
                                         for row in document["thread_io"])
    # AND the content is the profile's: counts, tree, edges consistent
    # (qualified names, plain co_name on 3.10: compare the last component)
    by_name = {f["name"].rsplit(".", 1)[-1]: f for f in document["functions"] if f["file"] == script}
    assert by_name["area"]["calls"] == 300
    assert by_name["countdown"]["calls"] == 21 and by_name["countdown"]["primitive_calls"] == 1
    nodes = document["nodes"]
    assert nodes[0]["parent"] == -1 and nodes[0]["function"] == -1
    assert all(node["parent"] < node["index"] for node in nodes[1:])
    area_index = by_name["area"]["index"]
    assert sum(edge["calls"] for edge in document["edges"] if edge["callee"] == area_index) == 300
    histogram = by_name["area"]["histogram"]
    assert sum(bucket[2] for bucket in histogram["buckets"]) == histogram["count"] == 300
    assert document["meta"]["name"] == "prog"
    assert json.loads(document["meta"]["argv"]) == ["prog.py"]


def test_json_to_stdout(pipegauge, profiled):
    run_dir, _script = profiled
    result = pipegauge("export", str(run_dir), "--format", "json", "-o", "-")
    assert result.returncode == 0
    assert json.loads(result.stdout)["schema"] == "pipegauge.profile+json"
