"""Per-function statistics: the Python face of ``Profile.functions()``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    def from_record(cls, index: int, record: Sequence[Any]) -> FunctionStats:
        """Build from one ``Profile.functions()`` tuple (times in ns)."""
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
}

SORT_KEYS: tuple[str, ...] = tuple(_SORTS)
"""Sort keys accepted by Run.stats and ``pipegauge view --sort``."""


def resolve_sort_key(sort: str) -> str:
    """The canonical sort key for sort (pstats' spellings accepted); UsageError,
    a ValueError, when unknown."""
    key_name = _ALIASES.get(sort, sort)
    if key_name not in _SORTS:
        raise UsageError(f"unknown sort key {sort!r} (choose from {', '.join(SORT_KEYS)})")
    return key_name


def sort_stats(stats: list[FunctionStats], sort: str) -> list[FunctionStats]:
    """Stats ordered by sort key, ties broken by label."""
    key, descending = _SORTS[resolve_sort_key(sort)]
    ordered = sorted(stats, key=lambda s: s.label)
    ordered.sort(key=key, reverse=descending)
    return ordered
