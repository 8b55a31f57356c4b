"""Profiling options shared by the API and the CLI, and the tracer filters they imply."""

from __future__ import annotations

import json
import os
import site
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ._errors import UsageError

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
"""pipegauge's own directory: its Python code is always folded into its caller."""

FROZEN_PREFIX = "<frozen "
"""File-name prefix of the stdlib modules frozen into the interpreter."""


@dataclass(frozen=True)
class Options:
    """What to profile and where to write it (the keyword arguments of
    ``pipegauge.start`` and ``pipegauge.profile``)."""

    output_dir: str | None = None  # run directory; None = .pipegauge/runs/<stamp>-<name>
    name: str | None = None  # run name; None = derived from the script or function
    builtins: bool = True  # attribute time to builtins and C methods, as cProfile
    exact_builtins: bool = False  # 3.12+: watch every call site for builtins (slower)
    include_stdlib: bool = False  # show stdlib and site-packages frames instead of folding them
    ignore_modules: tuple[str, ...] = field(default=())  # fnmatch patterns, folded into caller
    correct_overhead: bool = True  # subtract the calibrated profiler cost from times
    subprocess: bool = False  # also profile Python programs started with subprocess (whole-process runs)
    history: bool = True  # record written runs in the history database
    history_path: str | None = None  # None = .pipegauge/history.sqlite in the cwd
    memory: bool = True  # attribute heap allocations (Python allocators, numpy) to functions
    cpu: bool = True  # attribute CPU time (per-thread CPU timers) to functions
    io: bool = True  # attribute file and socket I/O to functions
    timeline: bool = True  # sample RSS, CPU, I/O, threads (and GPUs) over time
    timeline_hz: float = 20.0  # timeline samples per second
    gpu: bool = True  # read NVIDIA GPUs through NVML on the timeline
    lines: bool = False  # line heat for hot or named functions (3.12+: LINE events)
    lines_for: tuple[str, ...] = field(default=())  # qualified-name patterns: line heat from the start
    lines_threshold: float = 0.05  # own-time share above which a function gets line heat (0 = off)
    mode: str = "deterministic"  # "deterministic" (tracer) or "sample" (stack sampler, no hook)
    sample_hz: float = 1000.0  # sampling mode: samples per second per thread (config sampling_hz)
    sample_clock: str = "wall"  # sampling mode: "wall" (all time) or "cpu" (on-CPU time only)

    @classmethod
    def create(
        cls,
        *,
        output_dir: str | os.PathLike[str] | None = None,
        name: str | None = None,
        builtins: bool = True,
        exact_builtins: bool = False,
        include_stdlib: bool = False,
        ignore_modules: Iterable[str] | str = (),
        correct_overhead: bool = True,
        subprocess: bool = False,
        history: bool = True,
        history_path: str | os.PathLike[str] | None = None,
        memory: bool = True,
        cpu: bool = True,
        io: bool = True,
        timeline: bool = True,
        timeline_hz: float = 20.0,
        gpu: bool = True,
        lines: bool = False,
        lines_for: Iterable[str] | str = (),
        lines_threshold: float = 0.05,
        mode: str = "deterministic",
        sample_hz: float = 1000.0,
        sample_clock: str = "wall",
    ) -> Options:
        """Validate and normalise user-supplied values."""
        if isinstance(ignore_modules, str):
            ignore_modules = (ignore_modules,)
        patterns = tuple(str(pattern) for pattern in ignore_modules)
        hz = check_timeline_hz(timeline_hz)
        if isinstance(lines_for, str):
            lines_for = (lines_for,)
        line_patterns = tuple(str(pattern) for pattern in lines_for)
        if any(not pattern for pattern in line_patterns):
            raise UsageError("lines_for: empty pattern")
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}: {mode!r}")
        if sample_clock not in SAMPLE_CLOCKS:
            raise UsageError(f"sample_clock must be one of {', '.join(SAMPLE_CLOCKS)}: {sample_clock!r}")
        rate = check_sample_hz(sample_hz)
        return cls(
            output_dir=os.fspath(output_dir) if output_dir is not None else None,
            name=name,
            builtins=bool(builtins),
            exact_builtins=bool(exact_builtins),
            include_stdlib=bool(include_stdlib),
            ignore_modules=patterns,
            correct_overhead=bool(correct_overhead),
            subprocess=bool(subprocess),
            history=bool(history),
            history_path=os.fspath(history_path) if history_path is not None else None,
            memory=bool(memory),
            cpu=bool(cpu),
            io=bool(io),
            timeline=bool(timeline),
            timeline_hz=hz,
            gpu=bool(gpu),
            lines=bool(lines) or bool(line_patterns),  # naming functions implies lines
            lines_for=line_patterns,
            lines_threshold=check_lines_threshold(lines_threshold),
            mode=mode,
            sample_hz=rate,
            sample_clock=sample_clock,
        )

    def to_json(self) -> str:
        """The options as recorded in the profile metadata."""
        data: dict[str, Any] = asdict(self)
        data["ignore_modules"] = list(self.ignore_modules)
        data["lines_for"] = list(self.lines_for)
        return json.dumps(data, sort_keys=True)


TIMELINE_HZ_MAX = 10000.0
"""Highest timeline rate accepted (the sampler's C limit)."""


def _number(value: Any, what: str) -> float:
    """value as a float (never a bool); UsageError naming what otherwise."""
    if isinstance(value, bool):
        raise UsageError(f"{what}: not a number: {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what}: not a number: {value!r}") from None


def check_timeline_hz(value: Any) -> float:
    """The timeline rate as a float; UsageError unless 0 < value <= 10000."""
    hz = _number(value, "timeline_hz")
    if not 0.0 < hz <= TIMELINE_HZ_MAX:
        raise UsageError(f"timeline_hz must be above 0 and at most {TIMELINE_HZ_MAX:g}: {value!r}")
    return hz


def check_lines_threshold(value: Any) -> float:
    """The line-heat share threshold as a float; UsageError unless 0 <= value <= 1."""
    share = _number(value, "lines_threshold")
    if not 0.0 <= share <= 1.0:
        raise UsageError(f"lines_threshold must be a share between 0 and 1 (0.05 = 5%): {value!r}")
    return share


LINES_MIN_VERSION = (3, 12)
"""Deterministic line heat needs sys.monitoring LINE events."""

LINES_FROM_SAMPLES = (
    "line heat (--lines) on Python {version}: from samples at {hz:g} Hz on wall time "
    "(LINE events need 3.12+), for every function; --lines-for/--lines-threshold pick "
    "what view and the report show first"
)


def lines_available() -> bool:
    """Whether the deterministic tracer can record line heat here."""
    return sys.version_info >= LINES_MIN_VERSION


MODES = ("deterministic", "sample")
SAMPLE_CLOCKS = ("wall", "cpu")
SAMPLE_HZ_MAX = 10000.0
"""Highest sampling rate accepted (the stack sampler's C limit)."""


def check_sample_hz(value: Any) -> float:
    """The sampling rate as a float; UsageError unless 0 < value <= 10000."""
    hz = _number(value, "sampling rate")
    if not 0.0 < hz <= SAMPLE_HZ_MAX:
        raise UsageError(f"sampling rate must be above 0 and at most {SAMPLE_HZ_MAX:g} Hz: {value!r}")
    return hz


SAMPLE_MODE_OFF = ("memory", "cpu", "io")
"""Collectors that need the tracer's shadow stack, off in sampling mode."""


def _with_variants(paths: Iterable[str | None]) -> list[str]:
    """Absolute and symlink-resolved forms of existing directories, each ending
    with a separator so '/usr/lib' does not also match '/usr/lib64'."""
    result: list[str] = []
    for path in paths:
        if not path:
            continue
        for variant in (os.path.abspath(path), os.path.realpath(path)):
            prefixed = variant.rstrip(os.sep) + os.sep
            if prefixed not in result:
                result.append(prefixed)
    return result


def library_dirs() -> list[str]:
    """Directories holding the standard library and installed packages."""
    candidates: list[str | None] = []
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        candidates.append(paths.get(key))
    for prefix in {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix}:
        candidates.append(os.path.join(prefix, "lib"))
        candidates.append(os.path.join(prefix, "lib64"))
    try:
        candidates.extend(site.getsitepackages())
    except AttributeError:  # some virtualenv versions ship a reduced site module
        pass
    try:
        candidates.append(site.getusersitepackages())
    except AttributeError:
        pass
    return _with_variants(path for path in candidates if path and os.path.isdir(path))


def collapse_prefixes(options: Options) -> list[str]:
    """File prefixes whose code is folded into the frame that called it."""
    prefixes = _with_variants([PACKAGE_DIR])
    if not options.include_stdlib:
        prefixes.extend(path for path in library_dirs() if path not in prefixes)
        # frozen stdlib modules (importlib, codecs, os, ... on 3.11+) have
        # file names like "<frozen codecs>"
        prefixes.append(FROZEN_PREFIX)
    return prefixes


def module_roots() -> list[str]:
    """sys.path entries that exist, absolute, to name modules for ignore patterns."""
    roots: list[str] = []
    for entry in sys.path:
        path = os.path.abspath(entry or os.curdir)
        if os.path.isdir(path) and path not in roots:
            roots.append(path)
    return roots


def tracer_arguments(options: Options) -> dict[str, Any]:
    """Keyword arguments for ``_core.start`` implied by options."""
    sampling = options.mode == "sample"
    return {
        "builtins": options.builtins,
        "exact_builtins": options.exact_builtins,
        "collapse_prefixes": collapse_prefixes(options),
        "module_roots": module_roots(),
        "ignore_globs": list(options.ignore_modules),
        "memory": options.memory and not sampling,
        "cpu": options.cpu and not sampling,
        "timeline_hz": options.timeline_hz if options.timeline else 0.0,
        "gpu": options.gpu,
        "io": options.io,
        "lines": options.lines and not sampling and lines_available(),  # samples give line heat
        "lines_for": list(options.lines_for),
        "lines_threshold": options.lines_threshold,
        "io": options.io and not sampling,
        "sample_hz": options.sample_hz if sampling else 0.0,
        "sample_clock": options.sample_clock,
        # 3.10/3.11: line heat from the stack sampler beside the tracer
        "line_sample_hz": (options.sample_hz if options.lines and not sampling
                           and not lines_available() else 0.0),
    }
