"""One measurement in a fresh interpreter; bench/run.py starts this script.

    python _child.py time WORKLOAD PROFILER SCALE
    python _child.py memory CHECKPOINT [CHECKPOINT ...]

``time`` starts PROFILER, times WORKLOAD(SCALE) with perf_counter, stops the
profiler, and prints one JSON object. Only the workload region is timed: the
profiler's start, stop and result processing are outside it.

``memory`` runs pipegauge over the same few functions until each checkpoint
(a number of calls) is reached and records the profiler's own memory
(Profile.run["profiler_memory"]) and the process RSS there.

Everything printed on stdout is the JSON result; diagnostics go to stderr.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import sysconfig
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads  # noqa: E402

Profiler = tuple[Callable[[], None], Callable[[], dict[str, Any]]]


def default_collapse_prefixes() -> list[str]:
    """What pipegauge collapses by default: the stdlib and site-packages.

    Only used when the public API (which computes this itself) is missing.
    """
    paths = sysconfig.get_paths()
    keys = ("stdlib", "platstdlib", "purelib", "platlib")
    return sorted({os.path.join(os.path.realpath(paths[k]), "") for k in keys if k in paths})


def core_run_info(profile: Any) -> dict[str, Any]:
    """The overhead and memory figures a pipegauge Profile reports about itself."""
    try:
        run = dict(profile.run)
    except Exception as exc:  # the figures are informative; never fail a timing for them
        return {"run_error": repr(exc)}
    wanted = ("events", "event_cost_ns", "overhead_ns", "profiler_memory", "lost_events",
              "unmatched_events", "threads")
    return {key: run[key] for key in wanted if key in run}


def find_core_profile(run: Any) -> Any:
    """The _core.Profile behind a public Run object, if it exposes one."""
    for attr in ("profile", "_profile", "core", "_core_profile"):
        candidate = getattr(run, attr, None)
        if candidate is not None and hasattr(candidate, "run"):
            return candidate
    return None


def make_profiler(name: str) -> Profiler:
    """(start, stop) for one profiler, each as its own defaults have it."""
    if name == "none":
        return (lambda: None), (lambda: {})
    if name == "cProfile":
        import cProfile

        prof = cProfile.Profile()

        def stop_cprofile() -> dict[str, Any]:
            prof.disable()
            return {}

        return prof.enable, stop_cprofile
    if name == "pyinstrument":
        from pyinstrument import Profiler as PyinstrumentProfiler

        sampler = PyinstrumentProfiler()  # default: 1 ms interval, async_mode="enabled"

        def stop_pyinstrument() -> dict[str, Any]:
            sampler.stop()
            return {}

        return sampler.start, stop_pyinstrument
    if name == "yappi":
        import yappi

        yappi.set_clock_type("wall")

        def stop_yappi() -> dict[str, Any]:
            yappi.stop()
            return {}

        return yappi.start, stop_yappi  # builtins=False, profile_threads=True: its defaults
    if name == "pipegauge":
        return make_pipegauge()
    if name == "pipegauge-exact":  # builtins watched at every call site (3.12+ differs)
        return make_pipegauge(exact_builtins=True)
    if name == "pipegauge-nomem":  # without memory attribution: its cost is the difference
        return make_pipegauge(memory=False)
    if name == "pipegauge-timeonly":  # neither memory nor CPU attribution
        return make_pipegauge(memory=False, cpu=False)
    if name == "tracemalloc":  # the stdlib's allocation tracer, one frame per trace
        import tracemalloc

        def stop_tracemalloc() -> dict[str, Any]:
            tracemalloc.stop()
            return {}

        return (lambda: tracemalloc.start(1)), stop_tracemalloc
    if name == "pipegauge-notimeline":  # no resource sampler thread
        return make_pipegauge(timeline=False)
    if name == "pipegauge-200hz":  # the resource timeline at 10x its default rate
        return make_pipegauge(timeline_hz=200.0)
    if name == "pipegauge-sample":  # sampling mode at its default rate (wall clock)
        return make_pipegauge(mode="sample")
    if name == "pipegauge-sample-cpu":  # sampling mode on thread CPU time
        return make_pipegauge(mode="sample", sample_clock="cpu")
    if name.startswith("pipegauge-sample-") and name.endswith("hz"):  # e.g. pipegauge-sample-4000hz
        return make_pipegauge(mode="sample", sample_hz=float(name[len("pipegauge-sample-"):-2]))
    raise SystemExit(f"unknown profiler {name!r}")


def make_pipegauge(**options: Any) -> Profiler:
    """pipegauge with its defaults (builtins on, stdlib collapsed) plus options.

    Prefers the public ``pipegauge.profile()`` context manager; falls back to
    ``pipegauge._core`` with the same defaults when the API is not there yet.
    """
    import pipegauge

    state: dict[str, Any] = {}
    if hasattr(pipegauge, "profile"):

        def start_api() -> None:
            state["cm"] = pipegauge.profile(**options)
            state["run"] = state["cm"].__enter__()

        def stop_api() -> dict[str, Any]:
            state["cm"].__exit__(None, None, None)
            info: dict[str, Any] = {"api": "pipegauge.profile"}
            core_profile = find_core_profile(state["run"])
            if core_profile is not None:
                info.update(core_run_info(core_profile))
            return info

        return start_api, stop_api

    from pipegauge import _core

    def start_core() -> None:
        _core.start(collapse_prefixes=default_collapse_prefixes(), module_roots=sys.path,
                    **options)

    def stop_core() -> dict[str, Any]:
        info: dict[str, Any] = {"api": "pipegauge._core", "backend": _core.backend()}
        info.update(core_run_info(_core.stop()))
        return info

    return start_core, stop_core


def measure_time(workload: str, profiler: str, scale: float) -> dict[str, Any]:
    run_workload = workloads.WORKLOADS[workload]
    start, stop = make_profiler(profiler)
    gc.collect()
    start()
    t0 = time.perf_counter()
    checksum = run_workload(scale)
    elapsed = time.perf_counter() - t0
    extra = stop()
    return {"workload": workload, "profiler": profiler, "scale": scale,
            "elapsed": elapsed, "checksum": checksum, "extra": extra}


# --- memory ----------------------------------------------------------------


def leaf(x: int) -> int:
    return abs(x - 3)


def middle(x: int) -> int:
    return leaf(x) + 1


def drive(iterations: int) -> int:
    """Three calls per iteration: middle, leaf and the builtin abs."""
    total = 0
    for i in range(iterations):
        total += middle(i)
    return total


CALLS_PER_ITERATION = 3


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def measure_memory(checkpoints: list[int]) -> dict[str, Any]:
    from pipegauge import _core

    rows: list[dict[str, Any]] = []
    done = 0
    drive(1000)  # warm the interpreter's caches before the baseline
    gc.collect()
    rss_before = rss_bytes()
    _core.start(collapse_prefixes=default_collapse_prefixes(), module_roots=sys.path)
    for index, checkpoint in enumerate(checkpoints):
        drive(max(0, (checkpoint - done) // CALLS_PER_ITERATION))
        done = max(done, checkpoint)
        rss = rss_bytes()  # before snapshot/stop, which allocate the copy they return
        last = index == len(checkpoints) - 1
        profile = _core.stop() if last else _core.snapshot()
        info = core_run_info(profile)
        rows.append({"calls": checkpoint, "rss": rss, "rss_growth": rss - rss_before,
                     "profiler_memory": info.get("profiler_memory"),
                     "events": info.get("events")})
    return {"backend": _core.backend(), "checkpoints": rows}


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[0] == "time":
        result = measure_time(argv[1], argv[2], float(argv[3]))
    elif len(argv) >= 2 and argv[0] == "memory":
        result = measure_memory([int(float(arg)) for arg in argv[1:]])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    result["python"] = sys.version.split()[0]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
