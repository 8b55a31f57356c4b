"""Sampling-mode overhead, measured in one process.

    python bench/sample_bench.py [--rounds N] [--scale S] [--workloads a,b]

The benchmark in run.py times fresh interpreters by wall clock, which on a
shared machine moves by several percent from run to run: more than the
sampler costs. Here each round runs every workload once without the
profiler and once per sampling setting, in one process, in a rotating order,
and compares the process's CPU time (user + system, all threads: the
sampler's signals, walks and drains included) and its wall time. The
median over rounds of the per-round ratio cancels slow drifts of the
machine. Also reported: samples per second reached on the main thread.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402

from pipegauge import _core  # noqa: E402
from pipegauge._options import Options, tracer_arguments  # noqa: E402

SETTINGS = {
    "none": None,
    "sample-1000hz": {"mode": "sample", "sample_hz": 1000.0},
    "sample-1000hz-cpu": {"mode": "sample", "sample_hz": 1000.0, "sample_clock": "cpu"},
    "sample-4000hz": {"mode": "sample", "sample_hz": 4000.0},
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, work, scale: float, options) -> tuple[float, float, float]:
    """(cpu s, wall s, main-thread samples per second) of one run."""
    rate = 0.0
    arguments = None
    if options is not None:
        arguments = tracer_arguments(Options.create(memory=False, cpu=False, io=False, **options))
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    if arguments is None:
        work(scale)
    else:  # start to stop (the last drain included); writing the run is not timed
        _core.start(**arguments)
        work(scale)
        profile = _core.stop()
    cpu1, wall1 = cpu_seconds(), time.perf_counter()
    if arguments is not None:
        index = [metric[0] for metric in profile.metrics()].index("samples")
        charged = profile.node_metric(index)[0][1]  # the root's total: every charged period
        rate = charged / (wall1 - wall0)
    return cpu1 - cpu0, wall1 - wall0, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--workloads", default="pipeline,call_heavy,numeric_loop,allocation_heavy")
    args = parser.parse_args()
    names = list(SETTINGS)
    print(f"Python {sys.version.split()[0]}, {args.rounds} rounds, scale {args.scale}, "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'workload':<18}{'base cpu s':>11}" + "".join(f"{n:>20}" for n in names[1:]))
    for workload in args.workloads.split(","):
        work = workloads.WORKLOADS[workload]
        work(0.1)  # warm up
        ratios = {n: ([], [], []) for n in names[1:]}
        base_cpu = []
        for index in range(args.rounds):
            order = names[index % len(names):] + names[:index % len(names)]
            results = {n: measure(n, work, args.scale, SETTINGS[n]) for n in order}
            base_cpu.append(results["none"][0])
            for n in names[1:]:
                ratios[n][0].append(results[n][0] / results["none"][0])
                ratios[n][1].append(results[n][1] / results["none"][1])
                ratios[n][2].append(results[n][2])
        cells = "".join(
            f"{statistics.median(c):>9.3f}/{statistics.median(w):.3f} {statistics.median(r):>5.0f}/s"
            for c, w, r in ratios.values())
        print(f"{workload:<18}{statistics.median(base_cpu):>11.3f}{cells}")
    print("cells: CPU-time ratio / wall-time ratio vs no profiler (median of per-round ratios), "
          "main-thread samples per second")


if __name__ == "__main__":
    main()
