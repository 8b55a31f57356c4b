"""Per-function comparison of two sides (a run, or the N runs of a
``run --repeat N`` group) with statistics that separate change from noise.

Per-run self times on a loaded machine are heavy-tailed (one preemption
inside a call adds a whole time slice to that function in that run), so
every time statistic here is robust: a side's self and total time are the
median over its runs, and a function's typical call is the median over its
runs of each run's median call. A whole run that the machine slowed down (CPU
contention, frequency) moves every function's median call together: each
run's speed (the median over the judged functions, at least 5, of its
median call against theirs in all runs) is divided out, and what remains
between the sides is reported as the run-wide shift (``common_shift``), not
blamed on any function. A function's time is flagged (regressed or
improved) only when all hold:

1. it is large enough to judge (its self time is at least ``min_self_ns``
   or ``min_share`` of the run on one side);
2. the rank test (Mann-Whitney U on the pooled per-call latency histograms,
   computed in C) is significant after the Benjamini-Hochberg adjustment
   over every function tested (FDR ``alpha``);
3. the typical call, relative to the run-wide shift, changed by more than
   the noise band: ``min_effect``, or
   ``noise_z`` x the run-to-run noise of the function's median call
   (robust standard deviation of its log between runs of the same code,
   learned from the history and both sides) x sqrt(1/n_base + 1/n_current) when
   that is larger;
4. with at least two runs per side, the bootstrap interval (across the
   repeats, ``confidence``) of the ratio of the median of the per-run
   median calls excludes 1;
5. its self time moved the same way by at least half as much, so that a
   caller whose callee slowed down is not blamed for it (the histograms
   hold inclusive per-call times), and a function called twice as often
   at half the cost per call is not "improved". For a leaf (self time at
   least 90% of its total on both sides) the self time is estimated as
   calls x the typical call, robust to preemptions; for others it is the
   median over the runs.

Call counts are exact in deterministic mode: when every run of each side
has the same count, any difference is flagged as such; counts that vary
between repeats are flagged only when the two sides' ranges do not overlap
and the change exceeds ``min_effect``. Extra per-function metrics (memory,
I/O, from other collectors) are compared generically: the change must exceed
``min_effect`` and, with repeats, the bootstrap interval must exclude 1.

Pipeline stages are rows of kind "stage" judged by the same rules: records
handled stand for calls (exact counts), own time for self and total time,
and the per-record own-time histogram for the per-call one.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _core
from ._history import STAGE_KIND, FunctionRecord, RunRecord

REGRESSED, IMPROVED, UNCHANGED, NEW, GONE = "regressed", "improved", "unchanged", "new", "gone"
VERDICT_ORDER = {REGRESSED: 0, IMPROVED: 1, NEW: 2, GONE: 3, UNCHANGED: 4}


@dataclass(frozen=True)
class Settings:
    alpha: float = 0.05  # false discovery rate across functions
    min_effect: float = 0.05  # relative change never flagged below this
    noise_z: float = 2.5  # noise band width in run-to-run standard deviations
    min_self_ns: float = 1e6  # smaller functions are judged only when ...
    min_share: float = 0.005  # ... at least this share of the run on one side
    resamples: int = 2000  # bootstrap resamples
    # bootstrap interval across repeats; not 0.90: with five repeats a side a
    # resample repeats one odd run 3+ times (taking its median from it) in
    # 5.8% of draws, more than a 5% tail absorbs
    confidence: float = 0.85
    seed: int = 0  # bootstrap PRNG seed: the same inputs give the same verdicts


@dataclass
class Side:
    label: str  # as the user named it: "#12", "group 3f2a (5 runs)", a path
    runs: list[RunRecord]

    @property
    def program(self) -> str:
        return self.runs[0].program if self.runs else ""

    @property
    def duration_ns(self) -> float:
        return _mean([run.duration_ns for run in self.runs])


@dataclass
class FunctionDiff:
    key: str
    name: str
    file: str
    kind: str
    verdict: str = UNCHANGED
    reasons: list[str] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)  # metric -> REGRESSED/IMPROVED
    # metric -> (base, current): mean per run; None on the side it is absent
    values: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    calls_exact: bool = True  # counts identical in every run of each side
    p_value: float | None = None  # rank test, two-sided
    q_value: float | None = None  # after Benjamini-Hochberg
    effect: float | None = None  # P(current call > base call)
    interval: tuple[float, float] | None = None  # bootstrap interval of the median-call ratio
    noise: float | None = None  # relative band a time change must exceed
    call_change: float | None = None  # relative change of the median call (pooled histograms)
    time_change: float | None = None  # the flagged time change (smaller of call and self)
    too_small: bool = False

    @property
    def label(self) -> str:
        if self.kind == STAGE_KIND:
            return f"[stage] {self.name}"
        return self.name if self.kind == "builtin" else f"{self.file}:{self.name}"

    def matches(self, pattern: str | None) -> bool:
        """``--only``: the pattern is contained in the label or matches it as
        a glob; a stage's bare name counts too."""
        if not pattern:
            return True
        names = (self.label, self.name) if self.kind == STAGE_KIND else (self.label,)
        return any(pattern in name or fnmatch.fnmatchcase(name, pattern) for name in names)

    def change(self, metric: str) -> float | None:
        """Relative change current/base - 1; None when undefined."""
        base, current = self.values.get(metric, (None, None))
        if base is None or current is None:
            return None
        if base == 0:
            return 0.0 if current == 0 else math.inf
        return current / base - 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "file": self.file, "kind": self.kind,
            "verdict": self.verdict, "reasons": self.reasons, "flags": self.flags,
            "values": {metric: {"base": base, "current": current, "change": _finite(self.change(metric))}
                       for metric, (base, current) in self.values.items()},
            "calls_exact": self.calls_exact, "p_value": self.p_value, "q_value": self.q_value,
            "effect": self.effect,
            "interval": list(self.interval) if self.interval else None,
            "noise": self.noise, "too_small": self.too_small,
            "call_change": self.call_change, "time_change": self.time_change,
        }


@dataclass
class DiffResult:
    base: Side
    current: Side
    functions: list[FunctionDiff]
    settings: Settings
    duration_interval: tuple[float, float, float] | None = None  # ratio, low, high
    common_shift: float = 0.0  # how much slower every function got together (divided out)

    @property
    def extra_metrics(self) -> list[str]:
        names = {metric for item in self.functions for metric in item.values} - set(CORE_METRICS)
        return sorted(names)

    def to_json(self) -> dict[str, Any]:
        return {
            "base": {"label": self.base.label, "program": self.base.program,
                     "runs": [run.id for run in self.base.runs], "duration_ns": self.base.duration_ns},
            "current": {"label": self.current.label, "program": self.current.program,
                        "runs": [run.id for run in self.current.runs],
                        "duration_ns": self.current.duration_ns},
            "duration_interval": list(self.duration_interval) if self.duration_interval else None,
            "common_shift": self.common_shift,
            "settings": self.settings.__dict__,
            "functions": [item.to_json() for item in self.functions],
        }


CORE_METRICS = ("self", "total", "calls", "p95")
LEAF_SHARE = 0.9  # self / total from which a function counts as a leaf
MIN_FUNCTIONS_FOR_SPEED = 5  # judged functions needed to measure a run's speed
MAD_TO_SD = 1.4826  # median absolute deviation -> standard deviation (normal data)
FEW_CALLS = 20  # calls per run below which a run's median call is nearly its total


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def rows(run: RunRecord) -> list[FunctionRecord]:
    """What is compared of a run: its functions, then its pipeline stages as
    rows of kind "stage" (records as calls, own time as self time)."""
    return [*run.functions, *(stage.as_function() for stage in run.stages)]


def _by_key(runs: Sequence[RunRecord]) -> list[dict[str, FunctionRecord]]:
    return [{record.key: record for record in rows(run)} for run in runs]


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def median_calls(run: RunRecord) -> dict[str, float]:
    return {record.key: record.p50_ns for record in rows(run)}


def learn_noise(clusters: Iterable[Sequence[dict[str, float]]],
                plain: frozenset[str] | set[str] = frozenset()) -> dict[str, tuple[float, int]]:
    """Per function key, (run-to-run standard deviation of the log of its
    median call, degrees of freedom), pooled over clusters of runs of the
    same code, each run given as {key: median call}. Robust (the median
    absolute deviation, scaled to a standard deviation), like the typical
    call it is the noise of: a side's typical call is the median of its
    runs' median calls, which one odd run does not move, so one odd run must
    not widen the band either. Keys in plain (functions with few calls per
    run) get the larger of that and the plain standard deviation: their
    median call is nearly a run total, holding every preemption of the run,
    and a group of runs on a loaded machine moves it as a whole."""
    squares: dict[str, float] = {}
    freedom: dict[str, int] = {}
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        per_key: dict[str, list[float]] = {}
        for run in cluster:
            for key, value in run.items():
                if value > 0:
                    per_key.setdefault(key, []).append(math.log(value))
        for key, logs in per_key.items():
            if len(logs) < 2:
                continue
            center = _median(logs)
            spread = MAD_TO_SD * _median([abs(value - center) for value in logs])
            if key in plain:
                mean = _mean(logs)
                plain_sd = math.sqrt(sum((value - mean) ** 2 for value in logs) / (len(logs) - 1))
                spread = max(spread, plain_sd)
            squares[key] = squares.get(key, 0.0) + spread * spread * (len(logs) - 1)
            freedom[key] = freedom.get(key, 0) + len(logs) - 1
    return {key: (math.sqrt(squares[key] / freedom[key]), freedom[key]) for key in freedom}


def varying_calls(clusters: Iterable[Sequence[RunRecord]]) -> set[str]:
    """Keys whose call count differed between runs of the same code."""
    varying: set[str] = set()
    for cluster in clusters:
        seen: dict[str, set[int]] = {}
        for run in cluster:
            for record in rows(run):
                seen.setdefault(record.key, set()).add(record.calls)
        varying.update(key for key, counts in seen.items() if len(counts) > 1)
    return varying


class _Comparer:
    """One comparison; holds the per-run tables of both sides."""

    def __init__(self, base: Side, current: Side, settings: Settings, varying: set[str]) -> None:
        self.base, self.current, self.settings = base, current, settings
        self.varying = varying
        self.noise: dict[str, tuple[float, int]] = {}  # set by compare() once speeds are known
        self.base_runs = _by_key(base.runs)
        self.current_runs = _by_key(current.runs)
        # Each run's speed relative to the others (1 = typical): the median
        # over the judged functions of its median call against theirs in all
        # runs. Divided out, so that a run the machine slowed as a whole does
        # not look like every function regressing.
        self.base_speed = [1.0] * len(base.runs)
        self.current_speed = [1.0] * len(current.runs)
        # Stages have their own run speeds, from their own-time histograms:
        # a generator function's per-call time includes its upstream, so a
        # slowed stage shifts the functions downstream of it, not the stages.
        self.stage_speed = ([1.0] * len(base.runs), [1.0] * len(current.runs))

    def speeds_of(self, key: str) -> tuple[list[float], list[float]]:
        """(base, current) run speeds that apply to key."""
        if key.endswith("||" + STAGE_KIND):
            return self.stage_speed
        return self.base_speed, self.current_speed

    def shift_of(self, key: str) -> float:
        base, current = self.speeds_of(key)
        return _median(current) / _median(base) - 1.0

    def measure_speeds(self, items: Sequence[FunctionDiff], *, stages: bool = False) -> None:
        if len(items) < MIN_FUNCTIONS_FOR_SPEED:
            return
        runs = self.base_runs + self.current_runs
        reference = {item.key: _median([table[item.key].p50_ns for table in runs if item.key in table])
                     for item in items}
        speeds = []
        for table in runs:
            ratios = [table[key].p50_ns / value for key, value in reference.items()
                      if key in table and value > 0 and table[key].p50_ns > 0]
            speeds.append(_median(ratios) if len(ratios) >= MIN_FUNCTIONS_FOR_SPEED else 1.0)
        if stages:
            self.stage_speed = (speeds[:len(self.base_runs)], speeds[len(self.base_runs):])
            return
        self.base_speed = speeds[:len(self.base_runs)]
        self.current_speed = speeds[len(self.base_runs):]

    @property
    def common_shift(self) -> float:
        return _median(self.current_speed) / _median(self.base_speed) - 1.0

    def normalised(self, runs: list[dict[str, FunctionRecord]], side: int) -> list[dict[str, float]]:
        """Each run's median calls over its speed (side 0: base, 1: current)."""
        return [{key: record.p50_ns / self.speeds_of(key)[side][index]
                 for key, record in table.items()} for index, table in enumerate(runs)]

    def values(self, runs: list[dict[str, FunctionRecord]], key: str, attr: str) -> list[float]:
        """attr of key in every run of a side, 0 where a run lacks it."""
        return [float(getattr(table[key], attr)) if key in table else 0.0 for table in runs]

    def extra_values(self, runs: list[dict[str, FunctionRecord]], key: str, metric: str) -> list[float]:
        return [float(table[key].extra.get(metric, 0.0)) if key in table else 0.0 for table in runs]

    def build(self, key: str) -> FunctionDiff:
        in_base = any(key in table for table in self.base_runs)
        in_current = any(key in table for table in self.current_runs)
        sample = next(table[key] for table in (*self.current_runs, *self.base_runs) if key in table)
        item = FunctionDiff(key=key, name=sample.name, file=sample.file, kind=sample.kind)
        for metric, attr in (("self", "self_ns"), ("total", "total_ns"), ("calls", "calls")):
            average = _mean if metric == "calls" else _median  # times: robust to preemptions
            item.values[metric] = (
                average(self.values(self.base_runs, key, attr)) if in_base else None,
                average(self.values(self.current_runs, key, attr)) if in_current else None)
        item.values["p95"] = (self.pooled_p95(self.base_runs, key) if in_base else None,
                              self.pooled_p95(self.current_runs, key) if in_current else None)
        metrics = {metric for table in (*self.base_runs, *self.current_runs)
                   if key in table for metric in table[key].extra}
        for metric in sorted(metrics):
            item.values[metric] = (
                _mean(self.extra_values(self.base_runs, key, metric)) if in_base else None,
                _mean(self.extra_values(self.current_runs, key, metric)) if in_current else None)
        if not in_base:
            item.verdict = NEW
        elif not in_current:
            item.verdict = GONE
        return item

    def pooled_p95(self, runs: list[dict[str, FunctionRecord]], key: str) -> float:
        samples = [table[key].sample for table in runs if key in table]
        return _core.sample_quantiles(samples, [0.95])[0] if samples else 0.0

    def is_leaf(self, item: FunctionDiff) -> bool:
        """Whether nearly all of the function's time is its own on both sides
        (then its per-call latency is its self time per call, and the noisy
        self totals add nothing)."""
        for side in (self.base_runs, self.current_runs):
            total = _median(self.values(side, item.key, "total_ns"))
            own = _median(self.values(side, item.key, "self_ns"))
            if total <= 0 or own < LEAF_SHARE * total:
                return False
        return True

    def medians(self, runs: list[dict[str, FunctionRecord]], speeds: list[float], key: str) -> list[float]:
        """The median call of key in each run that has it, over the run's speed."""
        return [table[key].p50_ns / speed for table, speed in zip(runs, speeds) if key in table]

    def samples_at_speed(self, key: str) -> tuple[list[bytes], list[bytes], list[float], list[float]]:
        """(base samples, current samples, base speeds, current speeds) of key:
        rank_test's arguments, one speed per run that has the function."""
        def side(runs: list[dict[str, FunctionRecord]], speeds: list[float]) -> tuple[list[bytes], list[float]]:
            present = [(table[key].sample, speed if speed > 0 and math.isfinite(speed) else 1.0)
                       for table, speed in zip(runs, speeds) if key in table]
            return [sample for sample, _ in present], [speed for _, speed in present]

        base_speed, current_speed = self.speeds_of(key)
        base_samples, base_speeds = side(self.base_runs, base_speed)
        current_samples, current_speeds = side(self.current_runs, current_speed)
        return base_samples, current_samples, base_speeds, current_speeds

    def size_up(self, item: FunctionDiff) -> None:
        settings = self.settings
        base_self = _median(self.values(self.base_runs, item.key, "self_ns"))
        current_self = _median(self.values(self.current_runs, item.key, "self_ns"))
        base_share = base_self / self.base.duration_ns if self.base.duration_ns else 0.0
        current_share = current_self / self.current.duration_ns if self.current.duration_ns else 0.0
        item.too_small = (max(base_self, current_self) < settings.min_self_ns
                          and max(base_share, current_share) < settings.min_share)

    def judge_time(self, item: FunctionDiff) -> None:
        settings = self.settings
        base_speed, current_speed = self.speeds_of(item.key)
        base_calls = self.medians(self.base_runs, base_speed, item.key)
        current_calls = self.medians(self.current_runs, current_speed, item.key)
        n_base, n_current = len(base_calls), len(current_calls)
        sd = self.noise.get(item.key, (0.0, 0))[0]
        item.noise = max(settings.min_effect,
                         settings.noise_z * sd * math.sqrt(1.0 / n_base + 1.0 / n_current))
        # The typical call of a side: the median of its runs' median calls,
        # each over its run's speed. Not the median of the pooled histograms:
        # one run that was slow for this function alone would move a pooled
        # median by a share of its calls, in either direction.
        typical = (_median(base_calls), _median(current_calls))
        if typical[0] > 0:
            item.call_change = typical[1] / typical[0] - 1.0
        if n_base >= 2 and n_current >= 2 and typical[0] > 0:
            _, low, high = _core.bootstrap_ratio(base_calls, current_calls, center="median",
                                                 resamples=settings.resamples,
                                                 confidence=settings.confidence, seed=settings.seed)
            item.interval = (low, high)

    def calls_changed_exactly(self, item: FunctionDiff) -> float | None:
        """current / base call count when both are exact and differ, else None."""
        calls_base, calls_current = item.values["calls"]
        if not item.calls_exact or not calls_base or not calls_current or calls_base == calls_current:
            return None
        return calls_current / calls_base

    def decide_time(self, item: FunctionDiff) -> None:
        if item.too_small:
            return
        ratio = self.calls_changed_exactly(item)
        if ratio is not None:
            self.decide_own_time(item, ratio)
            return
        if item.q_value is None or item.q_value > self.settings.alpha:
            return
        change, self_change = item.call_change, item.change("self")
        if change is None or self_change is None or item.noise is None or abs(change) <= item.noise:
            return
        slower = change > 0
        if item.effect is not None and (item.effect > 0.5) != slower:
            return  # the rank test and the medians disagree on the direction
        if item.interval is not None and (item.interval[0] <= 1.0 if slower else item.interval[1] >= 1.0):
            return
        if self.is_leaf(item):
            # self time = calls x the typical call: robust, unlike the summed
            # self times that every preemption inflates
            calls_base, calls_current = item.values["calls"]
            if calls_base and calls_current:
                self_change = calls_current / calls_base * (1.0 + change) - 1.0
        if (self_change > 0) != slower or abs(self_change) < abs(change) / 2:
            return  # the calls changed, but not this function's own time
        item.time_change = change if abs(change) <= abs(self_change) else self_change
        item.flags["time"] = REGRESSED if slower else IMPROVED
        item.reasons.append(f"median call {change:+.1%}, self time {self_change:+.1%} "
                            f"(noise band {item.noise:.1%}, q={item.q_value:.2g})")

    def decide_own_time(self, item: FunctionDiff, ratio: float) -> None:
        """The call count changed (exactly): a call now does other work, so its
        time says nothing by itself, and the calls flag already reports the
        change. Time is flagged only when the function's own time moved beyond
        the noise band by both estimates: the self times, and for a leaf also
        calls x the typical call (with the bootstrap interval scaled by the
        exact count ratio). Not gated by the rank test, which compares calls:
        twice the calls at the same cost each is twice the time with the same
        call histogram. Neither estimate alone: one run's median call of one
        function can sit in another mode of the machine's speed than the
        other functions' (a busy sibling hyperthread makes calls ~1.8x
        slower; a run's calls split between the modes), and summed self
        times hold every preemption."""
        change, measured = item.call_change, item.change("self")
        if measured is None or item.noise is None:
            return
        estimates, interval = [measured], None
        if self.is_leaf(item) and change is not None:
            estimates.append(ratio * (1.0 + change) - 1.0)
            if item.interval is not None:
                interval = (item.interval[0] * ratio, item.interval[1] * ratio)
        slower = measured > 0
        if any(abs(own) <= item.noise or (own > 0) != slower for own in estimates):
            return
        if interval is not None and (interval[0] <= 1.0 if slower else interval[1] >= 1.0):
            return
        own = min(estimates, key=abs)
        item.time_change = own
        item.flags["time"] = REGRESSED if slower else IMPROVED
        item.reasons.append(f"own time {own:+.1%} at x{ratio:.2f} calls "
                            f"(noise band {item.noise:.1%})")

    def calls_unmeasured(self, key: str) -> bool:
        """A sampling-mode run on either side: it has time for the function
        but no call count (sampling measures none), so calls cannot be compared."""
        if key.endswith("||" + STAGE_KIND):
            return False
        return any(table[key].calls == 0 and (table[key].self_ns > 0 or table[key].total_ns > 0)
                   for table in (*self.base_runs, *self.current_runs) if key in table)

    def judge_calls(self, item: FunctionDiff) -> None:
        if self.calls_unmeasured(item.key):
            item.calls_exact = False
            return
        base = self.values(self.base_runs, item.key, "calls")
        current = self.values(self.current_runs, item.key, "calls")
        exact = len(set(base)) == 1 and len(set(current)) == 1 and item.key not in self.varying
        item.calls_exact = exact
        if base[0] == current[0] and exact:
            return
        noun = "records" if item.kind == STAGE_KIND else "calls"
        if exact:
            slower = current[0] > base[0]
            ratio = f"x{current[0] / base[0]:.2f}" if base[0] else "from 0"
            item.reasons.append(f"{noun} {int(base[0])} -> {int(current[0])} ({ratio}, exact)")
        else:
            change = item.change("calls")
            if change is None or abs(change) <= self.settings.min_effect:
                return
            if not (min(current) > max(base) or max(current) < min(base)):
                return
            slower = change > 0
            item.reasons.append(f"{noun} {change:+.1%} (counts vary between runs)")
        item.flags["calls"] = REGRESSED if slower else IMPROVED

    def judge_extra(self, item: FunctionDiff) -> None:
        settings = self.settings
        for metric in [name for name in item.values if name not in CORE_METRICS]:
            change = item.change(metric)
            if change is None or abs(change) <= settings.min_effect:
                continue
            base = self.extra_values(self.base_runs, item.key, metric)
            current = self.extra_values(self.current_runs, item.key, metric)
            if len(base) >= 2 and len(current) >= 2 and _mean(base) > 0:
                _, low, high = _core.bootstrap_ratio(base, current, resamples=settings.resamples,
                                                     confidence=settings.confidence, seed=settings.seed)
                if low <= 1.0 <= high:
                    continue
            item.flags[metric] = REGRESSED if change > 0 else IMPROVED
            item.reasons.append(f"{metric} {change:+.1%}" if math.isfinite(change) else f"{metric} from 0")


def compare(base: Side, current: Side, *, settings: Settings | None = None,
            history_clusters: Iterable[Sequence[RunRecord]] = ()) -> DiffResult:
    """Compare current against base. history_clusters: earlier runs of the
    same code (groups of repeats) to learn noise and call variability from;
    both sides' own repeats are always used."""
    settings = settings or Settings()
    history = [list(cluster) for cluster in history_clusters]
    comparer = _Comparer(base, current, settings, varying_calls(history + [base.runs, current.runs]))
    keys = sorted({record.key for run in (*base.runs, *current.runs) for record in rows(run)})
    items = [comparer.build(key) for key in keys]
    both = [item for item in items if item.verdict not in (NEW, GONE)]
    for item in both:
        comparer.size_up(item)
    # functions and stages each give their own run speeds (a stage row
    # repeats time its function has: one slowed stage must not count twice)
    comparer.measure_speeds([item for item in both
                             if not item.too_small and item.kind != STAGE_KIND])
    comparer.measure_speeds([item for item in both
                             if not item.too_small and item.kind == STAGE_KIND], stages=True)
    few_calls = {item.key for item in both
                 if min(comparer.values(comparer.base_runs + comparer.current_runs, item.key, "calls"))
                 < FEW_CALLS}
    comparer.noise = learn_noise(
        [[median_calls(run) for run in cluster] for cluster in history]
        + [comparer.normalised(comparer.base_runs, 0),
           comparer.normalised(comparer.current_runs, 1)], plain=few_calls)
    tested: list[FunctionDiff] = []
    for item in both:
        comparer.judge_calls(item)
        comparer.judge_extra(item)
        if not item.too_small:
            comparer.judge_time(item)
            # at each run's speed, like the typical calls: a run the machine
            # slowed as a whole must not make the test see every call slower
            test = _core.rank_test(*comparer.samples_at_speed(item.key))
            item.p_value, item.effect = test["p_value"], test["effect"]
            tested.append(item)
    for item, q_value in zip(tested, _core.bh_adjust(
            [1.0 if item.p_value is None else item.p_value for item in tested])):
        item.q_value = q_value
        comparer.decide_time(item)
    for item in items:
        if item.verdict in (NEW, GONE):
            continue
        flags = set(item.flags.values())
        item.verdict = REGRESSED if REGRESSED in flags else IMPROVED if IMPROVED in flags else UNCHANGED
    items.sort(key=lambda item: (VERDICT_ORDER[item.verdict], -abs(item.change("self") or 0.0)
                                 * max(item.values["self"][0] or 0.0, item.values["self"][1] or 0.0),
                                 item.key))
    result = DiffResult(base, current, items, settings, common_shift=comparer.common_shift)
    durations = ([run.duration_ns for run in base.runs], [run.duration_ns for run in current.runs])
    if len(durations[0]) >= 2 and len(durations[1]) >= 2 and _mean(durations[0]) > 0:
        result.duration_interval = _core.bootstrap_ratio(
            *durations, resamples=settings.resamples, confidence=settings.confidence, seed=settings.seed)
    return result


def metric_matches(flag_metric: str, wanted: str) -> bool:
    """Whether a flag on flag_metric counts for ``check --metric wanted``:
    'time' and 'calls' by name, 'memory' for every memory metric."""
    return flag_metric == wanted or (wanted == "memory" and flag_metric.startswith("memory"))


def regressions(result: DiffResult, *, metric: str, threshold: float,
                pattern: str | None = None) -> list[FunctionDiff]:
    """Functions flagged as regressed on metric by more than threshold."""
    found = []
    for item in result.functions:
        if not item.matches(pattern):
            continue
        for flag_metric, verdict in item.flags.items():
            if verdict != REGRESSED or not metric_matches(flag_metric, metric):
                continue
            change = item.time_change if flag_metric == "time" else item.change(flag_metric)
            if change is not None and change > threshold:
                found.append(item)
                break
    return found
