"""From a finished run to its history record, and recording it.

Functions are matched across runs by (qualified name, file relative to the
program's root, kind): line numbers shift with every edit above a function,
and absolute paths differ between checkouts. Functions sharing a key (two
lambdas of one file) are summed, their histograms pooled.

Recording never costs the run: the profile is written before, and a history
that cannot be opened or written (corrupt, locked, read-only) gives one
warning line and the run goes on.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from . import _core
from ._history import (FunctionRecord, History, HistoryError, RunRecord, StageRecord,
                       default_path)
from ._run import Run

GROUP_ENV = "PIPEGAUGE_GROUP"
"""Set by ``pipegauge run --repeat N`` for its child runs: their group id."""


def _meta_json_list(meta: dict[str, str], key: str) -> list[str]:
    try:
        value = json.loads(meta.get(key, "[]"))
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def program_identity(meta: dict[str, str]) -> tuple[str, str]:
    """(program, root): the program is the user's --name when given, else the
    normalised path of the script (argv[0]) with the run name appended when
    it is not the script's own name (functions profiled by the API); root is
    the directory relative to which function files are named."""
    cwd = meta.get("cwd") or os.getcwd()
    name = meta.get("name", "run")
    try:
        options = json.loads(meta.get("options", "{}"))
    except ValueError:
        options = {}
    argv = _meta_json_list(meta, "argv")
    script = os.path.join(cwd, argv[0]) if argv and argv[0] not in ("", "-c", "-m") else ""
    root = os.path.dirname(os.path.realpath(script)) if os.path.isfile(script) else cwd
    if isinstance(options, dict) and options.get("name"):
        return str(options["name"]), root
    if not script or not os.path.isfile(script):
        return name, root
    path = os.path.realpath(script)
    stem = os.path.splitext(os.path.basename(path))[0]
    return (path if name in (stem, os.path.basename(path)) else f"{path}::{name}"), root


def relative_file(path: str, root: str) -> str:
    if path == "~" or not os.path.isabs(path):
        return path
    prefix = root.rstrip(os.sep) + os.sep
    return path[len(prefix):] if path.startswith(prefix) else path


def function_key(name: str, file: str, kind: str, root: str) -> tuple[str, str]:
    """(key, file relative to root): what matches a function across runs."""
    relative = relative_file(file, root)
    return f"{name}|{relative}|{kind}", relative


def function_records(run: Run, root: str) -> list[FunctionRecord]:
    """Per-function summaries (corrected as the run's options say)."""
    profile = run.profile
    assert profile is not None
    correct = run.options.correct_overhead
    stats = sorted(run.stats(correct=correct), key=lambda item: item.index)
    samples = profile.latency_samples(correct)
    merged: dict[str, list[tuple[int, bytes]]] = {}
    records: dict[str, FunctionRecord] = {}
    for item in stats:
        if item.calls == 0 and item.self_time == 0:
            continue
        key, file = function_key(item.name, item.file, item.kind, root)
        merged.setdefault(key, []).append((item.index, samples[item.index]))
        known = records.get(key)
        if known is None:
            records[key] = FunctionRecord(key, item.name, file, item.kind, item.calls,
                                          item.self_time * 1e9, item.total_time * 1e9,
                                          item.p50 * 1e9, item.p95 * 1e9, item.p99 * 1e9,
                                          samples[item.index])
        else:
            known.calls += item.calls
            known.self_ns += item.self_time * 1e9
            known.total_ns += item.total_time * 1e9
    for key, parts in merged.items():
        if len(parts) > 1:
            record = records[key]
            record.sample = _core.merge_samples([sample for _, sample in parts])
            record.p50_ns, record.p95_ns, record.p99_ns = _core.sample_quantiles(
                [record.sample], [0.5, 0.95, 0.99])
    return list(records.values())


def stage_records(run: Run) -> list[StageRecord]:
    """Per declared stage that ran, its summary (raw times: stage times are
    not overhead-corrected). Memory and I/O are kept only when measured."""
    profile = run.profile
    assert profile is not None
    records = []
    for s, sample in zip(profile.stages(), profile.stage_latency_samples()):
        if s["invocations"] == 0 and s["records_out"] == 0 and s["own_ns"] == 0:
            continue
        records_handled = s["records_out"] or s["records_in"]
        own_ns = float(s["own_ns"])
        extra: dict[str, float] = {}
        if s["memory_measured"]:
            extra["memory_allocated"] = float(s["memory_bytes"])
        if s["io_measured"]:
            scale = s["invocations"] / s["io_measured"]
            extra["io_read_bytes"] = s["io_read_bytes"] * scale
            extra["io_write_bytes"] = s["io_write_bytes"] * scale
        p50, p95, p99 = (_core.sample_quantiles([sample], [0.5, 0.95, 0.99])
                         if s["latency"]["count"] else (0.0, 0.0, 0.0))
        records.append(StageRecord(
            s["name"], int(s["invocations"]), int(s["records_in"]), int(s["records_out"]),
            own_ns, records_handled / (own_ns * 1e-9) if records_handled and own_ns > 0 else 0.0,
            p50, p95, p99, sample, extra))
    return records


def run_record(run: Run, profile_path: Path | None, group_id: str | None = None) -> RunRecord:
    meta = run.meta
    program, root = program_identity(meta)
    info = run.run_info
    start_ns = float(info.get("start_epoch_ns", 0.0))
    dirty = meta.get("git_dirty")
    return RunRecord(
        program=program,
        name=meta.get("name", run.name),
        started=start_ns / 1e9 if start_ns > 0 else time.time(),
        duration_ns=float(info.get("duration_ns", 0.0)),
        functions=function_records(run, root),
        stages=stage_records(run),
        group_id=group_id,
        git_commit=meta.get("git_commit"),
        git_branch=meta.get("git_branch"),
        git_dirty=None if dirty is None else dirty == "true",
        host=meta.get("host"),
        python=meta.get("python"),
        profile_path=os.path.abspath(profile_path) if profile_path is not None else None,
    )


def record_run(run: Run, profile_path: Path) -> RunRecord | None:
    """Record a written run in the history its options name; on failure one
    warning line on stderr (and in the run log), None."""
    options = run.options
    if not options.history:
        return None
    path = Path(options.history_path) if options.history_path else default_path()
    try:
        record = run_record(run, profile_path, os.environ.get(GROUP_ENV) or None)
        with History(path) as history:
            history.record(record)
    except HistoryError as exc:
        _warn(run, f"run not recorded in history: {exc.message}")
        return None
    except Exception as exc:  # noqa: BLE001 - the history must never cost the run
        _warn(run, f"run not recorded in history {str(path)!r}: {type(exc).__name__}: {exc}")
        return None
    run.log.info(f"recorded in history {path} as run #{record.id}")
    return record


def _warn(run: Run, message: str) -> None:
    run.log.warning(message)  # also one "pipegauge: warning:" line on stderr (the logger)
