"""Overhead of pipeline stages: the cost per record through a generator stage
and per call through a function stage or a with-block.

    python bench/stage_bench.py [--records N] [--repeat N] [--json]

Run it with an interpreter that has pipegauge installed. A benchmark, not a
test. Each figure is the best of --repeat runs (the least disturbed by other
work on the machine) of the same loop with and without the stage, in one
process: the difference divided by the records (or calls) is the overhead.

- ``generator stage``: a pass-through generator, plain and as
  ``@pipegauge.stage``; the record loop is the consumer. The target of
  issue 4 is at most 200 ns per record on CPython 3.12.
- ``generator stage, profiled``: the same, both inside one
  ``pipegauge.profile()`` (the tracer's own cost cancels out).
- ``stage.iter``: an iterator wrapped between two loops.
- ``function stage``: a call of an identity function; this path reads the
  thread CPU clock twice per call (a system call), and /proc I/O counters at
  most once per 10 ms per thread.
- ``with-block``: ``with stage("x"):`` around nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pipegauge
from pipegauge import stage


def passthrough(items: Iterable[int]) -> Iterator[int]:
    for item in items:
        yield item


staged_passthrough = stage("bench.pass")(passthrough)


def consume(iterator: Iterable[int]) -> int:
    count = 0
    for _ in iterator:
        count += 1
    return count


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def per_item_ns(repeat: int, n: int, plain: Callable[[], Any], staged: Callable[[], Any]) -> dict[str, float]:
    base = best_of(repeat, plain)
    with_stage = best_of(repeat, staged)
    return {"plain_ns": base / n * 1e9, "staged_ns": with_stage / n * 1e9,
            "overhead_ns": (with_stage - base) / n * 1e9}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    n, repeat = args.records, args.repeat
    calls = max(n // 20, 1000)
    identity = stage("bench.call")(lambda x: x)
    block = stage("bench.block")

    def with_blocks() -> None:
        for _ in range(calls):
            with block:
                pass

    def empty_blocks() -> None:
        for _ in range(calls):
            pass

    results: dict[str, dict[str, float]] = {
        "generator stage": per_item_ns(repeat, n, lambda: consume(passthrough(range(n))),
                                       lambda: consume(staged_passthrough(range(n)))),
        "stage.iter": per_item_ns(repeat, n, lambda: consume(iter(range(n))),
                                  lambda: consume(stage.iter(range(n), "bench.iter"))),
        "function stage": per_item_ns(repeat, calls, lambda: [(lambda x: x)(i) for i in range(calls)],
                                      lambda: [identity(i) for i in range(calls)]),
        "with-block": per_item_ns(repeat, calls, empty_blocks, with_blocks),
    }
    with pipegauge.profile():
        results["generator stage, profiled"] = per_item_ns(
            repeat, n, lambda: consume(passthrough(range(n))),
            lambda: consume(staged_passthrough(range(n))))
    info = {"python": platform.python_version(), "records": n, "repeat": repeat,
            "results": results}
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"Python {info['python']}, {n:,} records, best of {repeat}")
    for name, numbers in results.items():
        print(f"  {name:<27} {numbers['overhead_ns']:8.1f} ns overhead per item "
              f"({numbers['plain_ns']:.1f} -> {numbers['staged_ns']:.1f} ns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
