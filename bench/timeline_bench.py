"""The resource sampler's cost, measured two ways that survive a busy machine.

    python bench/timeline_bench.py [ROUNDS]

1. The sampler's own CPU: a program that sleeps 5 s runs under
   ``pipegauge run`` with ``--no-timeline``, at 20, 200 and 1000 Hz; the
   extra CPU time of the child (user + system, from rusage) per second of
   run is the sampler's (it is the only thing awake).
2. Its effect on the program: in one process, the bench's ``pipeline``
   workload under ``pipegauge._core`` with the timeline off, at 20 Hz and at
   200 Hz, interleaved in shuffled order for ROUNDS rounds (default 15);
   the main thread's CPU time (``time.thread_time``) is compared, as wall
   time on a shared machine is too noisy to resolve a fraction of a percent.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sampler_cpu(seconds: float = 5.0) -> dict[str, float]:
    """Extra child CPU ms per second of run, per rate."""
    configs = {"off": ["--no-timeline"], "20 Hz": [], "200 Hz": ["--timeline-hz", "200"],
               "1000 Hz": ["--timeline-hz", "1000"]}
    samples: dict[str, list[float]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "sleeper.py"
        script.write_text(f"import time\ntime.sleep({seconds})\n")
        for round_ in range(3):
            for name, args in configs.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run([sys.executable, "-m", "pipegauge", "run", "-o",
                                os.path.join(directory, f"run{round_}"), *args, str(script)],
                               check=True, capture_output=True)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                samples[name].append(after.ru_utime - before.ru_utime
                                     + after.ru_stime - before.ru_stime)
    off = statistics.median(samples["off"])
    return {name: (statistics.median(values) - off) / seconds * 1e3
            for name, values in samples.items()}


def program_cpu(rounds: int) -> dict[str, list[float]]:
    """Main-thread CPU seconds of the pipeline workload, per rate."""
    sys.path.insert(0, str(HERE))
    import workloads
    from pipegauge import _core
    from pipegauge._options import Options, tracer_arguments

    rates = {"off": 0.0, "20 Hz": 20.0, "200 Hz": 200.0}
    cpu: dict[str, list[float]] = {name: [] for name in rates}
    arguments = tracer_arguments(Options.create())
    rng = random.Random(1)
    for _ in range(rounds):
        order = list(rates)
        rng.shuffle(order)
        for name in order:
            _core.start(**dict(arguments, timeline_hz=rates[name]))
            before = time.thread_time()
            workloads.pipeline(0.5)
            cpu[name].append(time.thread_time() - before)
            _core.stop()
    return cpu


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, ms in sampler_cpu().items():
        if name != "off":
            print(f"sampler CPU at {name:>7}: {ms:6.2f} ms per second of run ({ms / 10:.2f}% of a core)")
    cpu = program_cpu(rounds)
    off = statistics.median(cpu["off"])
    for name, values in cpu.items():
        median = statistics.median(values)
        print(f"pipeline main-thread CPU, timeline {name:>6}: median {median * 1e3:7.1f} ms "
              f"({(median / off - 1) * 100:+.1f}% vs off), min {min(values) * 1e3:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
