"""summary.json: a small, stable digest of a run for scripts and CI.

The schema is documented in docs/summary-json.md; bump SUMMARY_VERSION when
a key changes meaning or disappears (adding keys keeps the version).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import _core
from ._sampling import sampling_info
from ._stats import FunctionStats

if TYPE_CHECKING:
    from ._run import Run

SUMMARY_SCHEMA = "pipegauge.summary"
SUMMARY_VERSION = 1


def _meta_value(key: str, value: str) -> Any:
    """Metadata strings, with the JSON-encoded ones (argv, options) decoded."""
    if key in ("argv", "options"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def function_summary(stats: FunctionStats, sampled: bool = False) -> dict[str, Any]:
    if sampled:  # no calls or per-call latency were measured: samples instead
        return {
            "label": stats.label, "name": stats.name, "file": stats.file, "line": stats.line,
            "kind": stats.kind, "calls": None, "samples": stats.metric("samples", inclusive=False) or 0,
            "self_s": stats.self_time, "total_s": stats.total_time,
        }
    return {
        "label": stats.label,
        "name": stats.name,
        "file": stats.file,
        "line": stats.line,
        "kind": stats.kind,
        "calls": stats.calls,
        "primitive_calls": stats.primitive_calls,
        "exceptions": stats.exceptions,
        "self_s": stats.self_time,
        "total_s": stats.total_time,
        "mean_s": stats.mean,
        "p50_s": stats.p50,
        "p95_s": stats.p95,
        "p99_s": stats.p99,
        "max_s": stats.max,
    }


def _stages_summary(run: Run) -> dict[str, Any]:
    """Declared stages (auto-stages when none), the bottleneck, the diagram."""
    report = run.stages()
    return {
        "auto": report.auto,
        "diagram": report.diagram(),
        "bottleneck": report.bottleneck.text if report.bottleneck else None,
        "stages": [
            {"name": s.name, "invocations": s.invocations, "records_in": s.records_in,
             "records_out": s.records_out, "own_s": s.own, "upstream_s": s.upstream,
             "suspended_s": s.suspended, "wall_s": s.wall, "exceptions": s.exceptions,
             "throughput_own": s.throughput_own}
            for s in report.stages
        ],
    }


def _findings_summary(run: Run, top: int) -> list[dict[str, Any]]:
    """The top findings, compact (the JSON export has the whole evidence)."""
    from ._findings import analyse, configured_settings

    profile = run.profile
    assert profile is not None
    try:
        result = analyse(profile, correct=run.options.correct_overhead, settings=configured_settings())
    except Exception as exc:  # noqa: BLE001 - findings are optional, the summary is not
        run.log.warning(f"findings not computed: {type(exc).__name__}: {exc}")
        return []
    return [{"rank": f.rank, "rule": f.rule, "file": f.file, "line": f.line, "function": f.function,
             "impact_s": f.impact, "share": f.share, "detail": f.detail, "suggestion": f.suggestion}
            for f in result.findings[:top]]


def build_summary(run: Run, top: int = 20) -> dict[str, Any]:
    info = run.run_info
    overhead = run.overhead
    profile = run.profile
    assert profile is not None  # run_info raised otherwise
    meta = run.meta
    stats = run.stats("tottime")
    return {
        "schema": SUMMARY_SCHEMA,
        "version": SUMMARY_VERSION,
        "profile_format": list(_core.FORMAT_VERSION),
        "name": run.name,
        "end_reason": run.end_reason or meta.get("end_reason"),
        "meta": {key: _meta_value(key, value) for key, value in meta.items()},
        "run": {
            "duration_s": run.duration,
            "events": int(info.get("events", 0)),
            "threads": int(info.get("threads", 0)),
            "functions": profile.function_count,
            "call_paths": max(profile.node_count - 1, 0),
            "lost_events": int(info.get("lost_events", 0)),
            "unmatched_events": int(info.get("unmatched_events", 0)),
            "event_cost_ns": overhead.event_cost_ns,
            "overhead_s": overhead.estimate,
            "overhead_fraction": overhead.fraction,
            "overhead_corrected": overhead.corrected,
            "profiler_memory_bytes": overhead.profiler_memory,
        },
        "sampling": sampling_info(meta),
        "top_functions": [function_summary(item, run.sampled) for item in stats[:top]],
        "processes": run.processes,
        "stages": _stages_summary(run),
        "findings": _findings_summary(run, top),
        "files": {"profile": "profile.pgprof", "log": "pipegauge.log"},
    }
