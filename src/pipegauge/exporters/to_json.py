"""Export everything in a profile as JSON (schema: docs/json-schema.md).

Bump JSON_VERSION when a key changes meaning or disappears; adding keys
keeps it.
"""

from __future__ import annotations

import json
from typing import Any

from .. import _core
from .._findings import analyse, configured_settings
from .._sampling import sampling_info
from .._stage_report import stage_report
from .._stats import FunctionStats

JSON_SCHEMA = "pipegauge.profile+json"
JSON_VERSION = 1


def _number(value: float) -> int | float:
    """Integral floats as ints (counts, ns), others unchanged."""
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def _function(profile: _core.Profile, index: int, record: tuple[Any, ...]) -> dict[str, Any]:
    stats = FunctionStats.from_record(index, record)
    (_name, _file, _line, _kind, _calls, _primitive, _exc, exclusive_ns, inclusive_ns,
     hist_count, min_ns, mean_ns, p50_ns, p95_ns, p99_ns, max_ns) = record[:16]
    histogram = profile.histogram(index)
    return {
        "index": index,
        "name": stats.name,
        "file": stats.file,
        "line": stats.line,
        "kind": stats.kind,
        "label": stats.label,
        "calls": stats.calls,
        "primitive_calls": stats.primitive_calls,
        "exceptions": stats.exceptions,
        "self_ns": _number(exclusive_ns),
        "total_ns": _number(inclusive_ns),
        "latency": {
            "count": _number(hist_count),
            "min_ns": _number(min_ns),
            "mean_ns": _number(mean_ns),
            "p50_ns": _number(p50_ns),
            "p95_ns": _number(p95_ns),
            "p99_ns": _number(p99_ns),
            "max_ns": _number(max_ns),
        },
        "histogram": {
            "unit_ns": _number(histogram.get("unit_ns", 1.0)),
            "count": _number(histogram.get("count", 0)),
            "sum_ns": _number(histogram.get("sum_ns", 0)),
            "min_ns": _number(histogram.get("min_ns", 0)),
            "max_ns": _number(histogram.get("max_ns", 0)),
            "buckets": [[_number(low), _number(high), _number(count)]
                        for low, high, count in histogram.get("buckets", [])],
        },
    }


def _metric_tables(profile: _core.Profile) -> tuple[list[dict[str, Any]], list[list[tuple[int, int]]],
                                                  list[list[tuple[int, int]]]]:
    """(metric descriptions, per-metric function pairs, per-metric node pairs)."""
    described = [{"name": name, "unit": unit, "merge": merge} for name, unit, merge in profile.metrics()]
    functions = [profile.function_metric(i) for i in range(len(described))]
    nodes = [profile.node_metric(i) for i in range(len(described))]
    return described, functions, nodes


def _values(described: list[dict[str, Any]], tables: list[list[tuple[int, int]]],
            index: int) -> dict[str, dict[str, int]]:
    """{metric name: {"self": exclusive, "total": inclusive}} of one function or node."""
    return {metric["name"]: {"self": int(table[index][0]), "total": int(table[index][1])}
            for metric, table in zip(described, tables)}


def profile_document(profile: _core.Profile, *, correct: bool) -> dict[str, Any]:
    described, function_values, node_values = _metric_tables(profile)
    functions = [_function(profile, index, record) for index, record in enumerate(profile.functions(correct))]
    for function in functions:
        function["metrics"] = _values(described, function_values, function["index"])
    sampling = sampling_info(profile.meta)
    document = {
        "schema": JSON_SCHEMA,
        "version": JSON_VERSION,
        "profile_format": list(_core.FORMAT_VERSION),
        "overhead_corrected": correct,
        "meta": profile.meta,
        "sampling": sampling,
        "run": {key: _number(value) for key, value in profile.run.items()},
        "metrics": described,
        "functions": functions,
        "nodes": [
            {
                "index": index,
                "parent": int(parent),
                "function": int(func),
                "calls": int(calls),
                "exceptions": int(exc_exits),
                "total_ns": _number(inclusive_ns),
                "self_ns": _number(exclusive_ns),
                "recursive": bool(recursive),
                "metrics": _values(described, node_values, index),
            }
            for index, (parent, func, calls, exc_exits, inclusive_ns, exclusive_ns, recursive)
            in enumerate(node[:7] for node in profile.nodes(correct))
        ],
        "edges": [
            {
                "caller": int(caller),
                "callee": int(callee),
                "calls": int(calls),
                "primitive_calls": int(primitive),
                "self_ns": _number(exclusive_ns),
                "total_ns": _number(inclusive_ns),
            }
            for caller, callee, calls, primitive, exclusive_ns, inclusive_ns in profile.edges(correct)
        ],
        "processes": process_list(profile),
        "stages": stage_report(profile).to_json(),
        "timeline": profile.timeline(),
        "thread_io": [
            {key: (value if key == "name" else int(value)) for key, value in row.items()}
            for row in profile.thread_io()
        ],
        "line_heat": [
            {"function": func, "line": line, "self_ns": self_ns, "total_ns": total_ns,
             "hits": hits}
            for func, line, self_ns, total_ns, hits in profile.line_heat()
        ],
    }
    findings = analyse(profile, correct=correct, settings=configured_settings())
    document["findings"] = findings.to_json()
    document["findings_meta"] = findings.meta_json()
    if sampling is not None:
        _strip_call_counts(document)
    return document


def _strip_call_counts(document: dict[str, Any]) -> None:
    """Sampling mode measures no calls and no per-call latency: null them
    rather than report zeros; each function and node gets its samples."""
    for function in document["functions"]:
        function["calls"] = function["primitive_calls"] = function["exceptions"] = None
        function["latency"] = function["histogram"] = None
        function["samples"] = function["metrics"].get("samples", {}).get("self", 0)
    for node in document["nodes"]:
        node["calls"] = node["exceptions"] = None
        node["samples"] = node["metrics"].get("samples", {}).get("self", 0)
    for edge in document["edges"]:
        edge["calls"] = edge["primitive_calls"] = None


PROCESS_STATES = ("finished", "lost", "running")


def process_list(profile: _core.Profile) -> list[dict[str, Any]]:
    """The process table, states spelled out ([] for a single-process run)."""
    return [{**entry, "state": PROCESS_STATES[entry["state"]]} for entry in profile.processes]


def export_json_text(profile: _core.Profile, *, correct: bool) -> str:
    return json.dumps(profile_document(profile, correct=correct), indent=1) + "\n"
