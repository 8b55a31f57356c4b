"""Per-function statistics: the Python face of ``Profile.functions()``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._errors import UsageError

NS = 1e-9  # seconds per nanosecond

KIND_NAMES = {0: "python", 1: "builtin"}


@dataclass(frozen=True)
class FunctionStats:
    """One function of a run. Times are seconds; calls count generator
    resumes, as cProfile does."""

    name: str  # qualified name, or cProfile's builtin label "<built-in method builtins.len>"
    file: str  # source file; "~" for builtins
    line: int  # first line; 0 for builtins
    kind: str  # "python" or "builtin"
    calls: int  # all calls, recursive ones included
    primitive_calls: int  # calls not made from inside the same function
    exceptions: int  # calls that ended by an exception
    self_time: float  # time in the function itself, summed over calls
    total_time: float  # time including callees (recursion counted once)
    min: float  # shortest call (inclusive)
    mean: float  # mean call (inclusive)
    p50: float  # median call
    p95: float
    p99: float
    max: float  # longest call
    index: int = -1  # position in the profile's function table
    # resource metrics recorded in the run: name -> (exclusive, inclusive)
    # in the metric's unit ("mem.alloc_bytes", "cpu.ns", "io.read_bytes", ...;
    # see README "Resources per function"); empty when none were recorded
    metrics: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False)

    def metric(self, name: str, inclusive: bool = True) -> int | None:
        """A metric's value for this function, None when not recorded."""
        pair = self.metrics.get(name)
        return None if pair is None else pair[1 if inclusive else 0]

    @property
    def allocated_bytes(self) -> int | None:
        """Heap bytes allocated by the function itself (not its callees)."""
        return self.metric("mem.alloc_bytes", inclusive=False)

    @property
    def total_allocated_bytes(self) -> int | None:
        """Heap bytes allocated during its calls, callees included."""
        return self.metric("mem.alloc_bytes")

    @property
    def allocations(self) -> int | None:
        """Allocations during its calls, callees included."""
        return self.metric("mem.alloc_count")

    @property
    def net_bytes(self) -> int | None:
        """Bytes allocated and not freed during its calls (callees included):
        what its calls left alive when they returned; negative when they freed
        more than they allocated."""
        allocated, freed = self.metric("mem.alloc_bytes"), self.metric("mem.freed_bytes")
        if allocated is None or freed is None:
            return None
        return allocated - freed

    @property
    def peak_bytes(self) -> int | None:
        """Highest heap level above the level at entry, reached while a call
        was on the stack (the largest over its calls)."""
        return self.metric("mem.peak_bytes")

    @property
    def cpu_time(self) -> float | None:
        """On-CPU seconds during its calls, callees included."""
        value = self.metric("cpu.ns")
        return None if value is None else value * NS

    @property
    def self_cpu_time(self) -> float | None:
        """On-CPU seconds in the function itself."""
        value = self.metric("cpu.ns", inclusive=False)
        return None if value is None else value * NS

    @property
    def offcpu_time(self) -> float | None:
        """Wall minus CPU seconds (waiting: sleep, I/O, locks), callees included."""
        cpu = self.cpu_time
        return None if cpu is None else max(0.0, self.total_time - cpu)

    @property
    def offcpu_fraction(self) -> float | None:
        """offcpu_time / total_time (0 when the function took no time)."""
        off = self.offcpu_time
        if off is None:
            return None
        return off / self.total_time if self.total_time > 0 else 0.0

    @property
    def io_read_bytes(self) -> int | None:
        return self.metric("io.read_bytes")

    @property
    def io_write_bytes(self) -> int | None:
        return self.metric("io.write_bytes")

    @property
    def gpu_time(self) -> float | None:
        """Seconds of GPU busy time sampled while it ran, callees included
        (utilisation x interval, split between the threads running then)."""
        value = self.metric("gpu.busy_ns")
        return None if value is None else value * 1e-9

    @property
    def gpu_memory_bytes(self) -> int | None:
        """Highest GPU memory of this process sampled while it ran."""
        return self.metric("gpu.mem_bytes")

    @property
    def io_bytes(self) -> int | None:
        """Bytes read plus written during its calls, callees included."""
        read, written = self.io_read_bytes, self.io_write_bytes
        if read is None and written is None:
            return None
        return (read or 0) + (written or 0)

    @property
    def label(self) -> str:
        """pstats' spelling: 'file:line(name)' or '{built-in method builtins.len}'."""
        if self.kind == "builtin":
            inner = self.name[1:-1] if self.name.startswith("<") and self.name.endswith(">") else self.name
            return "{" + inner + "}"
        return f"{self.file}:{self.line}({self.name})"

    @property
    def recursive(self) -> bool:
        return self.calls != self.primitive_calls

    @property
    def ncalls(self) -> str:
        """'calls' or 'calls/primitive_calls' when some calls were recursive."""
        if self.recursive:
            return f"{self.calls}/{self.primitive_calls}"
        return str(self.calls)

    @classmethod
    def from_record(cls, index: int, record: Sequence[Any],
                    metrics: Mapping[str, tuple[int, int]] | None = None) -> FunctionStats:
        """Build from one ``Profile.functions()`` tuple (times in ns) and the
        function's metric values."""
        (name, file, line, kind, calls, primitive, exc_exits, exclusive_ns, inclusive_ns,
         _hist_count, min_ns, mean_ns, p50_ns, p95_ns, p99_ns, max_ns) = record[:16]
        return cls(
            name=str(name),
            file=str(file),
            line=int(line),
            kind=KIND_NAMES.get(int(kind), "python"),
            calls=int(calls),
            primitive_calls=int(primitive),
            exceptions=int(exc_exits),
            self_time=float(exclusive_ns) * NS,
            total_time=float(inclusive_ns) * NS,
            min=float(min_ns) * NS,
            mean=float(mean_ns) * NS,
            p50=float(p50_ns) * NS,
            p95=float(p95_ns) * NS,
            p99=float(p99_ns) * NS,
            max=float(max_ns) * NS,
            index=index,
            metrics=dict(metrics or {}),
        )


# sort key name -> (key function, descending)
_SORTS: dict[str, tuple[Callable[[FunctionStats], Any], bool]] = {
    "tottime": (lambda s: s.self_time, True),
    "cumtime": (lambda s: s.total_time, True),
    "calls": (lambda s: s.calls, True),
    "pcalls": (lambda s: s.primitive_calls, True),
    "mean": (lambda s: s.mean, True),
    "p50": (lambda s: s.p50, True),
    "p95": (lambda s: s.p95, True),
    "p99": (lambda s: s.p99, True),
    "max": (lambda s: s.max, True),
    "exceptions": (lambda s: s.exceptions, True),
    "mem": (lambda s: s.total_allocated_bytes or 0, True),
    "selfmem": (lambda s: s.allocated_bytes or 0, True),
    "net": (lambda s: s.net_bytes or 0, True),
    "peak": (lambda s: s.peak_bytes or 0, True),
    "allocs": (lambda s: s.allocations or 0, True),
    "cpu": (lambda s: s.cpu_time or 0.0, True),
    "selfcpu": (lambda s: s.self_cpu_time or 0.0, True),
    "offcpu": (lambda s: s.offcpu_time or 0.0, True),
    "io": (lambda s: s.io_bytes or 0, True),
    "read": (lambda s: s.io_read_bytes or 0, True),
    "write": (lambda s: s.io_write_bytes or 0, True),
    "gpu": (lambda s: s.gpu_time or 0.0, True),
    "name": (lambda s: s.name, False),
    "file": (lambda s: (s.file, s.line), False),
}

# pstats' spellings accepted as well
_ALIASES = {
    "time": "tottime",
    "self": "tottime",
    "cumulative": "cumtime",
    "total": "cumtime",
    "ncalls": "calls",
    "filename": "file",
    "memory": "mem",
    "alloc": "mem",
    "off-cpu": "offcpu",
}

SORT_KEYS: tuple[str, ...] = tuple(_SORTS)

RESOURCE_SORT_KEYS: frozenset[str] = frozenset(
    ["mem", "selfmem", "net", "peak", "allocs", "cpu", "selfcpu", "offcpu", "io", "read", "write",
     "gpu"])
"""Sort keys on resource metrics: ``pipegauge view`` shows the resource columns for them."""
"""Sort keys accepted by Run.stats and ``pipegauge view --sort``."""


def resolve_sort_key(sort: str) -> str:
    """The canonical sort key for sort (pstats' spellings accepted); UsageError,
    a ValueError, when unknown."""
    key_name = _ALIASES.get(sort, sort)
    if key_name not in _SORTS:
        raise UsageError(f"unknown sort key {sort!r} (choose from {', '.join(SORT_KEYS)})")
    return key_name


def function_metrics(profile: Any) -> list[dict[str, tuple[int, int]]]:
    """Per function (index order): metric name -> (exclusive, inclusive)."""
    result: list[dict[str, tuple[int, int]]] = [{} for _ in range(profile.function_count)]
    for index, (name, _unit, _merge) in enumerate(profile.metrics()):
        for func, pair in enumerate(profile.function_metric(index)):
            result[func][name] = (int(pair[0]), int(pair[1]))
    return result


def sort_stats(stats: list[FunctionStats], sort: str) -> list[FunctionStats]:
    """Stats ordered by sort key, ties broken by label."""
    key, descending = _SORTS[resolve_sort_key(sort)]
    ordered = sorted(stats, key=lambda s: s.label)
    ordered.sort(key=key, reverse=descending)
    return ordered
