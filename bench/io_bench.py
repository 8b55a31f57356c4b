"""Overhead of I/O attribution on an I/O-heavy microbenchmark: many small
writes to /dev/null and to a pipe, through os.write/os.read and through
unbuffered file objects, timed without a profiler, under pipegauge with
io=False (--no-io) and with io=True (the default).

    python bench/io_bench.py [--repeat N] [--calls N]

Run it with the Python whose environment has pipegauge installed. Every
measurement is a fresh interpreter that starts the tracer (builtins
attributed, as the CLI does), times only the workload with perf_counter and
stops; configurations are interleaved round-robin and the median of the
repetitions is printed, as ns per I/O call and as the ratio to no profiler.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CONFIGS = ("none", "no-io", "io")


def devnull_os_write(calls: int) -> None:
    fd = os.open(os.devnull, os.O_WRONLY)
    data = b"x" * 64
    for _ in range(calls):
        os.write(fd, data)
    os.close(fd)


def pipe_write_read(calls: int) -> None:
    r, w = os.pipe()
    data = b"y" * 64
    for _ in range(calls // 2):  # two I/O calls per round trip
        os.write(w, data)
        os.read(r, 64)
    os.close(r)
    os.close(w)


def devnull_file_write(calls: int) -> None:
    with open(os.devnull, "wb", buffering=0) as f:
        data = b"z" * 64
        for _ in range(calls):
            f.write(data)


WORKLOADS = {
    "devnull os.write": devnull_os_write,
    "pipe os.write+os.read": pipe_write_read,
    "devnull FileIO.write": devnull_file_write,
}


def child(config: str, workload: str, calls: int) -> None:
    function = WORKLOADS[workload]
    function(1000)  # warm up
    if config != "none":
        from pipegauge import _core
        _core.start(io=config == "io")
    start = time.perf_counter()
    function(calls)
    elapsed = time.perf_counter() - start
    if config != "none":
        _core.stop()
    print(f"{elapsed:.9f}")


def measure(config: str, workload: str, calls: int) -> float:
    output = subprocess.run([sys.executable, __file__, "--child", config, workload, str(calls)],
                            capture_output=True, text=True, check=True, timeout=600)
    return float(output.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return 0
    times: dict[tuple[str, str], list[float]] = {}
    for repetition in range(args.repeat):
        for workload in WORKLOADS:
            order = CONFIGS[repetition % 3:] + CONFIGS[:repetition % 3]
            for config in order:
                times.setdefault((workload, config), []).append(measure(config, workload, args.calls))
    print(f"Python {sys.version.split()[0]}, {args.calls} I/O calls per run, "
          f"median of {args.repeat}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'workload':<24}" + "".join(f"{config + ' ns/call':>16}" for config in CONFIGS)
          + f"{'no-io/none':>12}{'io/none':>9}{'io/no-io':>10}")
    for workload in WORKLOADS:
        medians = {config: statistics.median(times[(workload, config)]) for config in CONFIGS}
        per_call = "".join(f"{medians[config] / args.calls * 1e9:>16.0f}" for config in CONFIGS)
        print(f"{workload:<24}{per_call}{medians['no-io'] / medians['none']:>12.2f}"
              f"{medians['io'] / medians['none']:>9.2f}{medians['io'] / medians['no-io']:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
