"""Scaling forecasts: runs at several input sizes in, one fit per function
and metric out (the statistics are the C engine's: ``_core.fit``).

Every per-function numeric column is fitted the same way, through
FUNCTION_METRICS and the resource columns the runs carry (allocated bytes,
CPU time, ...: fitted only when every run has them). Pipeline stages are
rows of their own (kind "stage", matched by name) fitted through the same
path: own time, records handled, and allocated bytes when every run
measured them; they are kept apart from the functions, whose time they
repeat, in the run's time and the shares. Run-level series: the run's time
and its peak memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _core
from ._errors import UsageError
from ._run import Run
from ._scale_param import SIZE_META, parse_size
from ._stats import FunctionStats
from ._units import short_size

BOOTSTRAP = 200
"""Bootstrap replicates per fitted series."""

LEVEL = 0.9
"""Coverage of the prediction intervals."""

MAX_SIZES = 64  # the engine's limits on one series (pg_fit.h)
MAX_RUNS = 4096

GROWS_MIN_SHARE = 0.05
"""A function is flagged as growing when its share of the time at the
target is at least this and at least GROWS_FACTOR times its share now."""
GROWS_FACTOR = 2.0

TIME_REPRODUCIBILITY = 0.03
"""Wall times of the same work in two processes differ by about this much
(log sd; 1-5% measured on a shared 2-CPU machine: clock calibration,
frequency, caches, neighbours): every time forecast carries at least this
doubt."""

# name -> (what it is, value from a function's stats, noise floor of the
# values, least log sd of a forecast, location of repeats: wall times follow
# the minimum, since descheduling on a busy machine only ever adds time)
FUNCTION_METRICS: dict[str, tuple[str, Callable[[FunctionStats], float], float, float, str]] = {
    "time": ("self time, s", lambda s: s.self_time, 1e-6, TIME_REPRODUCIBILITY, "minimum"),
    "total": ("total time (with callees), s", lambda s: s.total_time, 1e-6,
              TIME_REPRODUCIBILITY, "minimum"),
    "calls": ("calls", lambda s: float(s.calls), 0.5, 0.0, "median"),
}

# Per-stage series, as FUNCTION_METRICS, from a stage dict of
# _core.Profile.stages(); "memory_allocated" only when every run of the
# stage measured memory.
STAGE_METRICS: dict[str, tuple[str, Callable[[dict[str, Any]], float], float, float, str]] = {
    "time": ("own time, s", lambda s: s["own_ns"] * 1e-9, 1e-6, TIME_REPRODUCIBILITY, "minimum"),
    "records": ("records handled (out, or in for a sink)",
                lambda s: float(s["records_out"] or s["records_in"]), 0.5, 0.0, "median"),
}
STAGE_MEMORY: tuple[str, Callable[[dict[str, Any]], float], float, float, str] = (
    "bytes allocated in its own activations", lambda s: float(s["memory_bytes"]), 64.0, 0.01,
    "median")


# Per-function resource columns (FunctionStats.metrics: name -> (exclusive,
# inclusive), e.g. "mem.alloc_bytes", "cpu.ns"), fitted on the function's
# own (exclusive) value when every run carries the column. By the name's
# unit: (noise floor, least log sd of a forecast, location of repeats).
def _metric_noise(name: str) -> tuple[float, float, str]:
    if name.endswith("bytes"):
        return 64.0, 0.01, "median"
    if name.endswith(".ns"):
        return 1000.0, TIME_REPRODUCIBILITY, "minimum"
    return 0.5, 0.0, "median"


def _finite(value: float) -> float | None:
    """JSON has no infinity: a forecast that overflows (a steep power law
    far out) is written as null."""
    return value if math.isfinite(value) else None


@dataclass
class Fit:
    """One fitted series: a metric of a function, or of the whole run."""

    metric: str
    points: list[tuple[float, float]]  # (size, value) of every run
    cls: str  # "O(n log n)", "O(n^k)", or "none" (fewer than two sizes)
    confidence: float  # share of bootstrap replicates choosing cls
    now: float  # at the largest measured size: the median of its runs (minimum for times)
    forecast: float  # at the target size
    low: float  # prediction interval
    high: float
    noise: float  # RMS log noise of one value
    models: list[dict[str, Any]]  # every class: {"class", "a", "b", "cv_error"}
    method: str = "fit"  # "fit", or "sum" (the run's time: the functions' forecasts added up)

    def to_json(self) -> dict[str, Any]:
        return {"class": self.cls, "confidence": self.confidence, "now": self.now,
                "forecast": _finite(self.forecast), "low": _finite(self.low),
                "high": _finite(self.high), "noise": self.noise, "method": self.method,
                "points": [list(point) for point in self.points], "models": self.models}


@dataclass
class FunctionForecast:
    """One function across the runs."""

    label: str
    name: str
    file: str
    line: int
    kind: str
    fits: dict[str, Fit] = field(default_factory=dict)
    share_now: float = 0.0  # of the summed self time at the largest size
    share_target: float = 0.0  # of the summed forecast self time
    grows: bool = False

    @property
    def time(self) -> Fit:
        return self.fits["time"]

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "name": self.name, "file": self.file, "line": self.line,
                "kind": self.kind, "share_now": self.share_now,
                "share_target": self.share_target, "grows": self.grows,
                "metrics": {name: fit.to_json() for name, fit in self.fits.items()}}


@dataclass
class Forecast:
    target: float
    sizes: list[float]  # distinct, ascending
    runs: list[dict[str, Any]]  # {"path", "size"} per run
    functions: list[FunctionForecast]  # by forecast self time, largest first
    total_time: Fit
    peak_memory: Fit | None  # None when no run recorded it
    stages: list[FunctionForecast] = field(default_factory=list)  # kind "stage", shares among stages

    @property
    def fitted(self) -> bool:
        """False with a single size: no model, only call counts scaled."""
        return len(self.sizes) >= 2

    @property
    def note(self) -> str | None:
        if self.fitted:
            return None
        return (f"all runs were measured at one size (n={short_size(self.sizes[0])}): no model "
                f"can be fitted; only call counts are scaled, linearly, to "
                f"n={short_size(self.target)}. "
                "Measure at three or more sizes for a forecast.")

    def to_json(self) -> dict[str, Any]:
        return {"schema": "pipegauge.forecast", "version": 1, "target": self.target,
                "sizes": self.sizes, "fitted": self.fitted, "note": self.note,
                "level": LEVEL, "runs": self.runs,
                "total_time": self.total_time.to_json(),
                "peak_memory": self.peak_memory.to_json() if self.peak_memory else None,
                "functions": [item.to_json() for item in self.functions],
                "stages": [item.to_json() for item in self.stages]}


def run_size(run: Run, default: float | None = None) -> float:
    """The size a run was made at: its scale.n metadata, else default;
    UsageError when neither."""
    text = run.meta.get(SIZE_META)
    if text:
        try:
            return float(parse_size(text))
        except ValueError:
            pass
    if default is not None:
        return float(default)
    where = str(run.path) if run.path else run.name
    raise UsageError(f"run {where!r} carries no size (scale.n): make it with 'pipegauge scale', "
                     f"PIPEGAUGE_N or pipegauge.scale_param(), or set sample_size in "
                     f"[tool.pipegauge]")


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


def fit_series(metric: str, points: list[tuple[float, float]], target: float, floor: float,
               min_noise: float, location: str = "median", *, scale_linearly: bool = False,
               seed: int = 0) -> Fit:
    """Fit (size, value) points; with one size and scale_linearly, the
    value is scaled by target / size (call counts) instead of kept."""
    sizes = [point[0] for point in points]
    values = [max(0.0, point[1]) for point in points]
    result = _core.fit(sizes, values, target, floor=floor, min_noise=min_noise,
                       bootstrap=BOOTSTRAP, seed=seed, level=LEVEL, location=location)
    largest = max(sizes)
    at_largest = [value for size, value in zip(sizes, values) if size == largest]
    now = min(at_largest) if location == "minimum" else _median(at_largest)
    forecast, low, high = result["forecast"], result["low"], result["high"]
    if result["class"] == "none" and scale_linearly:
        ratio = target / largest
        forecast, low, high = forecast * ratio, low * ratio, high * ratio
    return Fit(metric=metric, points=list(zip(sizes, values)), cls=result["class"],
               confidence=result["confidence"], now=now, forecast=forecast, low=low,
               high=high, noise=result["noise"], models=result["models"])


def _run_time(run: Run) -> float:
    """The run's duration, less the profiler's estimated cost when the run's
    times are corrected for it."""
    overhead = run.overhead
    return max(0.0, run.duration - (overhead.estimate if overhead.corrected else 0.0))


def _peak_memory(run: Run) -> float | None:
    info = run.run_info
    if info.get("peak_rss"):
        return float(info["peak_rss"])
    text = run.meta.get("peak_rss")
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _function_rows(sized_runs: list[tuple[float, Run]]) -> dict[tuple, dict[str, Any]]:
    """Per function (keyed by name, file, line, kind): its stats in each run;
    a function missing from a run counts as 0 there."""
    rows: dict[tuple, dict[str, Any]] = {}
    for index, (_size, run) in enumerate(sized_runs):
        for stats in run.stats("tottime"):
            key = (stats.name, stats.file, stats.line, stats.kind)
            row = rows.setdefault(key, {"stats": stats, "per_run": {}})
            row["per_run"][index] = stats
    return rows


def _metric_points(sized_runs: list[tuple[float, Run]], per_run: dict[int, FunctionStats],
                   value: Callable[[FunctionStats], float]) -> list[tuple[float, float]]:
    return [(size, value(per_run[index]) if index in per_run else 0.0)
            for index, (size, _run) in enumerate(sized_runs)]


def _resource_value(name: str) -> Callable[[FunctionStats], float]:
    """A resource column's exclusive value (0 where the function lacks it)."""
    def value(stats: FunctionStats) -> float:
        pair = (getattr(stats, "metrics", None) or {}).get(name)
        return float(pair[0]) if pair else 0.0
    return value


def _resource_columns(sized_runs: list[tuple[float, Run]]) -> list[str]:
    """The resource columns every run carries (none before the resource
    tracker records any)."""
    common: set[str] | None = None
    for _size, run in sized_runs:
        names: set[str] = set()
        for stats in run.stats("tottime"):
            names.update(getattr(stats, "metrics", None) or {})
        common = names if common is None else common & names
    return sorted(common or ())


def _sum_of_functions(run_times: list[tuple[float, float]],
                      functions: list[FunctionForecast]) -> Fit:
    """The run's time at the target: the functions' self-time forecasts
    added up (a run mixes classes, which no single class fits), times the
    ratio of the run's time to that sum at the largest measured size
    (threads overlap; a little time is outside any function). The interval
    adds the functions' deviations in quadrature (independent errors). The
    class shown is the one of the largest function at the target."""
    largest = max(size for size, _time in run_times)
    now = min(time for size, time in run_times if size == largest)
    summed_now = sum(item.time.now for item in functions)
    ratio = now / summed_now if summed_now > 0 else 1.0
    forecast = sum(item.time.forecast for item in functions)
    below = sum((item.time.forecast - item.time.low) ** 2 for item in functions) ** 0.5
    above = sum((item.time.high - item.time.forecast) ** 2 for item in functions) ** 0.5
    top = max(functions, key=lambda item: item.time.forecast, default=None)
    return Fit(metric="run_time", points=run_times, cls=top.time.cls if top else "none",
               confidence=top.time.confidence if top else 0.0, now=now,
               forecast=ratio * forecast, low=ratio * max(0.0, forecast - below),
               high=ratio * (forecast + above), noise=0.0, models=[], method="sum")


def _stage_rows(sized_runs: list[tuple[float, Run]]) -> dict[str, dict[int, dict[str, Any]]]:
    """Per declared stage name, its counters in each run (absent: 0)."""
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for index, (_size, run) in enumerate(sized_runs):
        profile = run.profile
        for stage in profile.stages() if profile is not None else ():
            rows.setdefault(stage["name"], {})[index] = stage
    return rows


def _set_shares(items: list[FunctionForecast], single: bool) -> None:
    total_now = sum(item.time.now for item in items) or 1.0
    total_target = sum(item.time.forecast for item in items) or 1.0
    for item in items:
        item.share_now = item.time.now / total_now
        item.share_target = item.time.forecast / total_target
        item.grows = (not single and item.share_target >= GROWS_MIN_SHARE
                      and item.share_target >= GROWS_FACTOR * item.share_now)


def _stage_forecasts(sized_runs: list[tuple[float, Run]], target: float, single: bool,
                     seed: int) -> list[FunctionForecast]:
    stages = []
    for name, per_run in _stage_rows(sized_runs).items():
        item = FunctionForecast(label=f"[stage] {name}", name=name, file="", line=0, kind="stage")
        metrics = dict(STAGE_METRICS)
        if len(per_run) == len(sized_runs) and all(s["memory_measured"] for s in per_run.values()):
            metrics["memory_allocated"] = STAGE_MEMORY
        for metric, (_what, value, floor, least, location) in metrics.items():
            points = [(size, value(per_run[index]) if index in per_run else 0.0)
                      for index, (size, _run) in enumerate(sized_runs)]
            item.fits[metric] = fit_series(metric, points, target, floor, least, location,
                                           seed=seed, scale_linearly=single and metric == "records")
        stages.append(item)
    _set_shares(stages, single)
    stages.sort(key=lambda item: (-item.time.forecast, -item.time.now, item.label))
    return stages


def build_forecast(sized_runs: list[tuple[float, Run]], target: float, *,
                   seed: int = 0) -> Forecast:
    """Fit every function's metrics and the run's time and peak memory."""
    if not sized_runs:
        raise UsageError("forecast: no runs")
    sizes = sorted({size for size, _run in sized_runs})
    if len(sizes) > MAX_SIZES or len(sized_runs) > MAX_RUNS:
        raise UsageError(f"forecast: at most {MAX_SIZES} distinct sizes and {MAX_RUNS} runs "
                         f"(got {len(sizes)} sizes, {len(sized_runs)} runs)")
    single = len(sizes) < 2
    functions: list[FunctionForecast] = []
    metrics = dict(FUNCTION_METRICS)
    for name in _resource_columns(sized_runs):
        metrics[name] = (name, _resource_value(name), *_metric_noise(name))
    for row in _function_rows(sized_runs).values():
        stats: FunctionStats = row["stats"]
        item = FunctionForecast(label=stats.label, name=stats.name, file=stats.file,
                                line=stats.line, kind=stats.kind)
        for name, (_what, value, floor, least, location) in metrics.items():
            points = _metric_points(sized_runs, row["per_run"], value)
            item.fits[name] = fit_series(name, points, target, floor, least, location, seed=seed,
                                         scale_linearly=single and name == "calls")
        functions.append(item)
    _set_shares(functions, single)
    functions.sort(key=lambda item: (-item.time.forecast, -item.time.now, item.label))
    run_times = [(size, _run_time(run)) for size, run in sized_runs]
    if single:
        total_time = fit_series("run_time", run_times, target, 1e-4, TIME_REPRODUCIBILITY,
                                "minimum", seed=seed)
    else:
        total_time = _sum_of_functions(run_times, functions)
    memory_points = [(size, _peak_memory(run)) for size, run in sized_runs]
    peak_memory = None
    if all(value is not None for _size, value in memory_points):
        peak_memory = fit_series("peak_memory", [(s, float(v or 0)) for s, v in memory_points],
                                 target, 65536.0, 0.02, seed=seed)
    runs = [{"path": str(run.path) if run.path else None, "size": size}
            for size, run in sized_runs]
    return Forecast(target=target, sizes=sizes, runs=runs, functions=functions,
                    total_time=total_time, peak_memory=peak_memory,
                    stages=_stage_forecasts(sized_runs, target, single, seed))
