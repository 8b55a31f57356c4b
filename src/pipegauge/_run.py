"""A finished (or loaded) profiling run: the object the API hands back."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _core
from ._options import Options
from ._runlog import RunLog
# Imported here, not lazily at exit: its dataclasses are built with exec() of
# a string, which during interpreter exit would clear CPython's note of an
# unhandled KeyboardInterrupt (the process would exit 1, not by SIGINT).
from ._stage_report import StageReport, stage_report
from ._stats import NS, FunctionStats, function_metrics, sort_stats


@dataclass(frozen=True)
class Overhead:
    """The profiler's own cost in a run, as measured by its calibration."""

    event_cost_ns: float  # calibrated cost of one tracer event
    events: int  # tracer events handled, all threads
    estimate: float  # events x event cost, seconds
    fraction: float  # estimate / run duration (0 when the duration is 0)
    profiler_memory: int  # bytes the profiler held at stop
    corrected: bool  # whether stats() subtract this cost by default


def _options_from_meta(meta: dict[str, str]) -> Options:
    """The options a profile was taken with, defaults where unreadable."""
    try:
        data = json.loads(meta.get("options", "{}"))
        if not isinstance(data, dict):
            return Options()
        return Options.create(**{key: value for key, value in data.items()
                                 if key in Options.__dataclass_fields__})
    except (ValueError, TypeError):
        return Options()


class Run:
    """One profiling run. ``profile`` is None until the run has stopped."""

    def __init__(self, *, name: str, options: Options, log: RunLog | None = None) -> None:
        self.name = name  # run name (script stem, function name, or user's)
        self.options = options  # options the run was taken with
        self.log = log if log is not None else RunLog()  # what the profiler did
        self.profile: _core.Profile | None = None  # set when the run stops
        self.path: Path | None = None  # run directory or file last written
        self.end_reason: str | None = None  # how the run ended ("returned", "SIGTERM", ...)

    @classmethod
    def from_profile(cls, profile: _core.Profile, *, path: Path | None = None) -> Run:
        """Wrap a profile read from a file."""
        meta = profile.meta
        run = cls(name=meta.get("name", "run"), options=_options_from_meta(meta))
        run.profile = profile
        run.path = path
        run.end_reason = meta.get("end_reason")
        return run

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Run:
        """Read a profile file. Raises ``_core.FormatError`` or OSError."""
        return cls.from_profile(_core.Profile.read(os.fspath(path)), path=Path(path))

    def _require_profile(self) -> _core.Profile:
        if self.profile is None:
            raise RuntimeError("pipegauge: the run has not finished yet")
        return self.profile

    @property
    def finished(self) -> bool:
        return self.profile is not None

    @property
    def meta(self) -> dict[str, str]:
        """Metadata strings recorded in the profile ({} while running)."""
        return self.profile.meta if self.profile is not None else {}

    @property
    def sampled(self) -> bool:
        """True for a sampling-mode run: times are estimates (samples x
        period) and call counts were not measured (they read 0)."""
        return self.meta.get("mode") == "sample"

    def sampling_text(self) -> str:
        """One line about a sampling-mode run's sampler ('' otherwise)."""
        meta = self.meta
        if not self.sampled:
            return ""
        taken, lost = int(meta.get("samples_taken", "0") or 0), int(meta.get("samples_lost", "0") or 0)
        text = (f"{meta.get('sample_hz', '?')} Hz on {meta.get('sample_clock', '?')} time, "
                f"{taken:,} samples")
        return text + (f", {lost:,} lost" if lost else "")

    @property
    def run_info(self) -> dict[str, float]:
        """The profile's run numbers (see ``_core.Profile.run``)."""
        return self._require_profile().run

    @property
    def async_tasks(self) -> list[dict[str, Any]]:
        """asyncio tasks per coroutine function (whole-process runs): tasks,
        wall (summed lifetimes, seconds), max_wall, running (the coroutine's
        time in the profile: it excludes awaiting), awaiting (wall minus
        running); longest wall first. [] when no task ran."""
        try:
            rows = json.loads(self.meta.get("async_tasks", "[]"))
        except ValueError:
            return []
        by_identity: dict[tuple[str, str, int], float] = {}
        for item in self.stats():
            if item.kind == "python":
                key = (item.name, item.file, item.line)
                by_identity[key] = by_identity.get(key, 0.0) + item.total_time
        from ._options import library_dirs

        hidden = tuple(library_dirs()) if not self.options.include_stdlib else ()
        result = []
        for row in rows if isinstance(rows, list) else []:
            name, file, line = row["coroutine"], row["file"], row["line"]
            if hidden and file.startswith(hidden):
                continue  # asyncio's own helper tasks, folded like the rest of the stdlib
            running = by_identity.get((name, file, line),
                                      by_identity.get((name.rsplit(".", 1)[-1], file, line), 0.0))
            wall = row["wall_ns"] * NS
            result.append({"coroutine": name, "file": file, "line": line, "tasks": row["tasks"],
                           "wall": wall, "max_wall": row["max_wall_ns"] * NS,
                           "running": min(running, wall), "awaiting": max(wall - running, 0.0)})
        return sorted(result, key=lambda entry: -entry["wall"])

    @property
    def processes(self) -> list[dict[str, Any]]:
        """The processes merged into this run (parent first), with "state"
        as "finished", "lost" or "running"; [] for a single-process run."""
        from .exporters.to_json import process_list

        return process_list(self._require_profile())

    @property
    def duration(self) -> float:
        """Wall time of the run, seconds."""
        return float(self.run_info.get("duration_ns", 0.0)) * NS

    @property
    def overhead(self) -> Overhead:
        info = self.run_info
        duration_ns = float(info.get("duration_ns", 0.0))
        estimate_ns = float(info.get("overhead_ns", 0.0))
        return Overhead(
            event_cost_ns=float(info.get("event_cost_ns", 0.0)),
            events=int(info.get("events", 0)),
            estimate=estimate_ns * NS,
            fraction=estimate_ns / duration_ns if duration_ns > 0 else 0.0,
            profiler_memory=int(info.get("profiler_memory", 0)),
            corrected=self.options.correct_overhead,
        )

    def stats(self, sort: str = "tottime", *, correct: bool | None = None) -> list[FunctionStats]:
        """Per-function statistics ordered by sort (tottime, cumtime, calls,
        pcalls, mean, p50, p95, p99, max, exceptions, name, file).
        correct=None follows the run's ``correct_overhead`` option."""
        profile = self._require_profile()
        use_correction = self.options.correct_overhead if correct is None else correct
        records = profile.functions(use_correction)
        metrics = function_metrics(profile)
        stats = [FunctionStats.from_record(index, record, metrics[index])
                 for index, record in enumerate(records)]
        return sort_stats(stats, sort)

    def stages(self) -> StageReport:
        """The run's pipeline stages (``stages``, ``spans``, ``bottleneck``,
        ``diagram()``, ``to_json()``); auto-stages when the program declared
        none."""
        return stage_report(self._require_profile())

    def findings(self, *, min_percent: float | None = None, dominance_percent: float | None = None,
                 complexity: int | None = None, per_record_calls: int | None = None) -> Any:
        """What to change (``_findings.Findings``: ``findings`` best first,
        ``to_json()``), from the profile and the source files as they are
        now. Thresholds not given come from the configuration (defaults:
        2% of the run, 30%, complexity 15, 100 calls); see README "Findings"."""
        from ._findings import analyse, configured_settings, settings_from

        base = configured_settings()
        settings = settings_from({
            "findings_min_percent": 100 * base.min_share if min_percent is None else min_percent,
            "findings_dominance_percent": (100 * base.dominance if dominance_percent is None
                                           else dominance_percent),
            "findings_complexity": base.complexity if complexity is None else complexity,
            "findings_per_record_calls": (base.per_record_calls if per_record_calls is None
                                          else per_record_calls),
        })
        return analyse(self._require_profile(), correct=self.options.correct_overhead,
                       settings=settings)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the run. An existing directory, or a path without a suffix,
        gets the whole run directory (profile.pgprof, summary.json,
        report.html, pipegauge.log); any other path gets the binary profile only.
        Returns the path written."""
        from ._rundir import write_run_dir  # local: _rundir imports this module

        target = Path(path)
        profile = self._require_profile()
        if target.is_dir() or not target.suffix:
            written = write_run_dir(self, target)
        else:
            profile.write(os.fspath(target))
            written = target
        self.path = written
        return written

    def __repr__(self) -> str:
        if self.profile is None:
            return f"<pipegauge.Run {self.name!r} running>"
        return f"<pipegauge.Run {self.name!r} {self.duration:.3f}s {self.profile.function_count} functions>"

    def summary(self, top: int = 20) -> dict[str, Any]:
        """The content of summary.json (see docs/summary-json.md)."""
        from ._summary import build_summary

        return build_summary(self, top=top)
