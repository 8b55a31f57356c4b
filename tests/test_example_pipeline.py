"""The bundled example pipeline, run under pipegauge."""

from __future__ import annotations

import importlib.util
import math
import pstats
import sys

from conftest import EXAMPLE_PIPELINE, function_calls, load_summary


def load_example():
    spec = importlib.util.spec_from_file_location("example_pipeline", EXAMPLE_PIPELINE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["example_pipeline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def expected_counts(rows: int, batch_size: int = 250) -> dict[str, int]:
    """What the pipeline will do with rows generated rows, computed without a profiler."""
    example = load_example()
    parsed = accepted = 0
    for row in example.generate_rows(rows, seed=7):
        try:
            order = example.parse_row(row)
        except example.ValidationError:
            continue
        parsed += 1
        try:
            example.check_order(order)
        except example.ValidationError:
            continue
        accepted += 1
    return {"parsed": parsed, "accepted": accepted, "batches": math.ceil(accepted / batch_size)}


def calls_of(calls: dict[str, int], qualified: str) -> int:
    """Calls of a function by qualified name (plain co_name on Python 3.10)."""
    if qualified in calls:
        return calls[qualified]
    return calls[qualified.rsplit(".", 1)[-1]]


def test_example_pipeline_profile(pipegauge, workdir):
    # GIVEN the example pipeline with a small input
    rows = 3000
    expected = expected_counts(rows)
    # WHEN it runs under pipegauge
    result = pipegauge("run", str(EXAMPLE_PIPELINE), "--rows", str(rows), "--workers", "3",
                       "--out", str(workdir / "out"))
    # THEN it succeeds with its usual output
    assert result.returncode == 0, result.stderr
    assert f"pipeline: {rows} rows, {expected['accepted']} accepted" in result.stdout
    assert (workdir / "out" / "report.json").is_file()
    run_dir = result.only_run_dir()
    assert run_dir.name.endswith("-pipeline")
    # AND every stage is in the profile with exact counts, worker threads included
    calls = function_calls(run_dir)
    assert calls["parse_row"] == rows
    assert calls["check_order"] == expected["parsed"]
    assert calls["enrich_batch"] == expected["batches"]
    assert calls_of(calls, "CustomerService.lookup") == expected["batches"]
    assert calls["to_usd"] == expected["accepted"]
    assert calls["run_pipeline"] == 1
    if sys.version_info >= (3, 11):
        assert calls["Aggregator.add"] == expected["accepted"]
    summary = load_summary(run_dir)
    assert summary["run"]["threads"] >= 2
    assert summary["end_reason"] == "sys.exit(0)"  # the example ends with sys.exit(main())
    # AND its declared stages carry exact record counts and a bottleneck verdict
    stages = {stage["name"]: stage for stage in summary["stages"]["stages"]}
    assert summary["stages"]["auto"] is False
    assert list(stages) == ["extract", "parse", "validate", "enrich"]
    assert stages["extract"]["records_out"] == rows
    assert (stages["parse"]["records_in"], stages["parse"]["records_out"]) == (rows, expected["parsed"])
    assert (stages["validate"]["records_in"], stages["validate"]["records_out"]) == (
        expected["parsed"], expected["accepted"])
    assert stages["enrich"]["records_out"] == expected["accepted"]
    assert summary["stages"]["bottleneck"]


def test_example_pipeline_view_and_export(pipegauge, workdir):
    # GIVEN a run of the example
    result = pipegauge("run", "-o", "run", str(EXAMPLE_PIPELINE), "--rows", "1000")
    assert result.returncode == 0, result.stderr
    # WHEN viewed and exported
    view = pipegauge("view", "run", "--limit", "50")
    tree = pipegauge("view", "run", "--tree", "--min-percent", "0")
    export = pipegauge("export", "run", "--format", "pstats", "-o", "p.pstats")
    # THEN the stages show up everywhere
    assert view.returncode == 0 and "(parse_row)" in view.stdout
    assert tree.returncode == 0 and "(run_pipeline)" in tree.stdout
    assert export.returncode == 0
    stats = pstats.Stats(str(workdir / "p.pstats"))
    assert any(key[2] == "parse_row" and value[1] == 1000
               for key, value in stats.stats.items())  # type: ignore[attr-defined]
