"""Memory per pipeline stage: heap bytes the thread allocated during a
stage's own activations (nested and upstream stages excluded), through the
profile file, ``view --stages``, the JSON export, and not measured (not 0)
under ``--no-memory``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pipegauge
from pipegauge import _format, stage
from pipegauge._stage_report import stage_report

RECORDS = 200
CHUNK = 100_000  # bytes per record: 200 x 100 kB = 20 MB per run
EXPECTED = RECORDS * CHUNK


@stage("m.source")
def numbers(n: int):
    for i in range(n):
        yield i


@stage("m.alloc")
def allocate(items):
    for i in items:
        yield bytes(CHUNK)  # a fresh 100 kB object per record


@stage("m.measure")
def measure(blobs):
    for blob in blobs:
        yield len(blob)


@stage("m.outer")
def outer(n: int) -> int:
    total = 0
    for _ in range(n):
        total += inner()
    return total


@stage("m.inner")
def inner() -> int:
    return len(bytes(CHUNK))


def by_name(profile: Any) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in profile.stages()}


def test_generator_stage_allocations_are_its_own_not_its_neighbours() -> None:
    # GIVEN source -> alloc -> measure, where alloc makes 20 MB of bytes objects
    with pipegauge.profile() as run:
        assert sum(measure(allocate(numbers(RECORDS)))) == EXPECTED
    stages = by_name(run.profile)
    # THEN alloc shows ~20 MB (+-5%), counted on every resume
    alloc = stages["m.alloc"]
    assert alloc["memory_measured"] >= RECORDS
    assert 0.95 * EXPECTED <= alloc["memory_bytes"] <= 1.05 * EXPECTED, alloc["memory_bytes"]
    # AND its neighbours, upstream and downstream, do not get those bytes
    for name in ("m.source", "m.measure"):
        assert stages[name]["memory_measured"] > 0
        assert stages[name]["memory_bytes"] < 0.05 * EXPECTED, (name, stages[name])
    report = {s.name: s for s in stage_report(run.profile).stages}
    assert report["m.alloc"].memory == alloc["memory_bytes"]


def test_nested_function_stage_memory_is_excluded_from_the_caller() -> None:
    # GIVEN a function stage calling another that allocates 100 kB per call
    with pipegauge.profile() as run:
        assert outer(RECORDS) == EXPECTED
    stages = by_name(run.profile)
    # THEN the callee has the 20 MB and the caller not
    assert 0.95 * EXPECTED <= stages["m.inner"]["memory_bytes"] <= 1.05 * EXPECTED
    assert stages["m.inner"]["memory_measured"] == RECORDS
    assert stages["m.outer"]["memory_bytes"] < 0.05 * EXPECTED
    assert stages["m.outer"]["memory_measured"] == 1


def test_memory_off_is_not_measured_rather_than_zero() -> None:
    # GIVEN the same pipeline profiled with memory off
    with pipegauge.profile(memory=False) as run:
        assert sum(measure(allocate(numbers(RECORDS)))) == EXPECTED
    stages = by_name(run.profile)
    # THEN no stage claims a measurement, and the report says "not measured"
    assert all(s["memory_measured"] == 0 and s["memory_bytes"] == 0 for s in stages.values())
    report = {s.name: s for s in stage_report(run.profile).stages}
    assert report["m.alloc"].memory is None and report["m.alloc"].memory_measured == 0


PROGRAM = f"""
    from pipegauge import stage

    @stage("source")
    def source(n):
        for i in range(n):
            yield i

    @stage("alloc")
    def alloc(items):
        for i in items:
            yield bytes({CHUNK})

    @stage("sink")
    def sink(blobs):
        return sum(len(b) for b in blobs)

    assert sink(alloc(source({RECORDS}))) == {EXPECTED}
"""


def _alloc_cell(view: str) -> str:
    """The 'alloc' cell of the alloc stage's per-record row of view --stages."""
    lines = view.splitlines()
    heading = next(i for i, line in enumerate(lines) if line.startswith("per record"))
    columns = lines[heading].split()
    row = next(line for line in lines[heading + 1:] if line.startswith("alloc "))
    return row.split()[columns.index("alloc") - 1]  # "per record" is two words


def test_file_view_and_json_carry_stage_memory(write_script, pipegauge,
                                                tmp_path: Path) -> None:
    # GIVEN a run through the CLI, with memory on and off
    script = write_script(PROGRAM)
    for out, flags in (("on", ()), ("off", ("--no-memory",))):
        result = pipegauge("run", *flags, "-o", str(tmp_path / out), str(script))
        assert result.returncode == 0, result.stderr
    # THEN the file's STGS section carries the bytes, read alike by C and Python
    path = tmp_path / "on" / "profile.pgprof"
    python_stages = {s["name"]: s for s in _format.read_profile(path)["stages"]["stages"]}
    c_stages = by_name(pipegauge_core().Profile.read(str(path)))
    assert python_stages["alloc"]["mem_allocated"] == c_stages["alloc"]["memory_bytes"]
    assert 0.95 * EXPECTED <= python_stages["alloc"]["mem_allocated"] <= 1.05 * EXPECTED
    # AND view --stages shows an alloc column: ~19 MiB, and "-" when off
    view = pipegauge("view", str(tmp_path / "on"), "--stages")
    assert view.returncode == 0, view.stderr
    assert all(len(line) <= 80 for line in view.stdout.splitlines())
    assert _alloc_cell(view.stdout).endswith("MiB"), view.stdout
    assert 18.1 <= float(_alloc_cell(view.stdout)[:-3]) <= 20.0, view.stdout
    off = pipegauge("view", str(tmp_path / "off"), "--stages")
    assert off.returncode == 0 and _alloc_cell(off.stdout) == "-", off.stdout
    # AND the JSON export has memory, null when not measured
    for out, expect_null in (("on", False), ("off", True)):
        target = tmp_path / f"{out}.json"
        result = pipegauge("export", str(tmp_path / out), "--format", "json", "-o", str(target))
        assert result.returncode == 0, result.stderr
        stages = {s["name"]: s for s in json.loads(target.read_text())["stages"]["stages"]}
        if expect_null:
            assert stages["alloc"]["memory"] is None and stages["alloc"]["memory_measured"] == 0
        else:
            assert 0.95 * EXPECTED <= stages["alloc"]["memory"] <= 1.05 * EXPECTED


def pipegauge_core() -> Any:
    return pipegauge._core
