"""The report's comparison with the program's baseline: when the history
has a baseline for the run's program, the diff is embedded and the page
draws a differential flame graph (red: slower, blue: faster).

Reading the history must never cost the report: any failure leaves the
diff out and says why in the run log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._diff import GONE, Side, compare
from .._history import History, default_path, runs_with_group
from .._history_record import function_key, program_identity, run_record
from .._run import Run
from .._stats import KIND_NAMES


def baseline_diff(run: Run) -> dict[str, Any] | None:
    """Diff data for the page (see report.js DiffSection), or None when
    history is off, absent, or has no baseline for the run's program."""
    options = run.options
    if not options.history:
        return None
    path = Path(options.history_path) if options.history_path else default_path()
    if not path.is_file():
        return None
    try:
        return _build(run, path)
    except Exception as exc:  # noqa: BLE001 - the report must not fail over the history
        # a note, not a warning: recording the run reports a bad history once
        run.log.info(f"report: no comparison with the baseline: {exc}")
        return None


def _build(run: Run, path: Path) -> dict[str, Any] | None:
    program, root = program_identity(run.meta)
    with History(path, create=False, readonly=True) as history:
        baseline_id = history.baseline(program)
        if baseline_id is None:
            return None
        baseline = history.run(baseline_id)
        if baseline is None:
            return None
        base_runs = runs_with_group(history, baseline)
    own_path = os.path.abspath(run.path / "profile.pgprof") if run.path and run.path.is_dir() else None
    if own_path is not None and any(item.profile_path == own_path for item in base_runs):
        return None  # this run is (part of) the baseline
    label = f"baseline #{baseline.id}" + (f" (group of {len(base_runs)} runs)" if len(base_runs) > 1 else "")
    result = compare(Side(label, base_runs), Side("this run", [run_record(run, None)]))
    by_key = {item.key: item for item in result.functions}
    profile = run.profile
    assert profile is not None
    columns: dict[str, list[Any]] = {"verdict": [], "time_change": [], "call_change": [], "reasons": []}
    for name, file, _line, kind, *_rest in profile.functions(run.options.correct_overhead):
        key, _ = function_key(str(name), str(file), KIND_NAMES.get(int(kind), "python"), root)
        item = by_key.get(key)
        columns["verdict"].append(item.verdict if item else "unchanged")
        # Colour only what the statistics flagged: the rest is within noise.
        columns["time_change"].append(item.time_change if item and "time" in item.flags else None)
        columns["call_change"].append(item.call_change if item else None)
        columns["reasons"].append("; ".join(item.reasons) if item else "")
    gone = [item.label for item in result.functions if item.verdict == GONE]
    return {
        "base": label,
        "base_duration_ns": result.base.duration_ns,
        "duration_ns": result.current.duration_ns,
        "common_shift": result.common_shift,
        "functions": columns,
        "gone": gone[:50],
        "counts": {verdict: sum(1 for item in result.functions if item.verdict == verdict)
                   for verdict in ("regressed", "improved", "new", "gone", "unchanged")},
    }

