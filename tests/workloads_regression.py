"""A 10-stage pipeline with steady per-call times, for the regression tests.

Each stage is a leaf (no calls inside, so its self time is its own loop) and
runs a fixed number of loop iterations per call, so its per-call time is
nearly constant; one stage can be slowed by a factor (more iterations) or
called twice as often with half the work per call (same total time).

As a script: ``workloads_regression.py [--slow STAGE] [--factor F] [--double STAGE]``.
"""

from __future__ import annotations

import argparse

STAGES = 10
CALLS = 240  # calls of each stage per run (enough for stable per-run medians)
ITERATIONS = 300  # loop iterations per call (about 10-20 us under the tracer)
BLOCK = 10  # consecutive calls of one stage


# Ten separate functions (not one closure: a profile tells functions apart
# by their code objects).
def stage_0(value: int, iterations: int) -> int:
    acc = value + 0
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_1(value: int, iterations: int) -> int:
    acc = value + 1
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_2(value: int, iterations: int) -> int:
    acc = value + 2
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_3(value: int, iterations: int) -> int:
    acc = value + 3
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_4(value: int, iterations: int) -> int:
    acc = value + 4
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_5(value: int, iterations: int) -> int:
    acc = value + 5
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_6(value: int, iterations: int) -> int:
    acc = value + 6
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_7(value: int, iterations: int) -> int:
    acc = value + 7
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_8(value: int, iterations: int) -> int:
    acc = value + 8
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


def stage_9(value: int, iterations: int) -> int:
    acc = value + 9
    for step in range(iterations):
        acc = (acc * 31 + step) & 0xFFFF
    return acc


STAGE_FUNCTIONS = [stage_0, stage_1, stage_2, stage_3, stage_4, stage_5, stage_6, stage_7,
                   stage_8, stage_9]


def pipeline(slow: int | None = None, factor: float = 1.0, double: int | None = None) -> int:
    plan = []
    for index in range(STAGES):
        calls, iterations = CALLS, ITERATIONS
        if index == slow:
            iterations = int(round(ITERATIONS * factor))
        if index == double:
            calls, iterations = CALLS * 2, ITERATIONS // 2
        plan.append((STAGE_FUNCTIONS[index], calls, iterations))
    # Rounds of BLOCK consecutive calls per stage: drift during the run hits
    # every stage alike, and consecutive calls of one callee keep the
    # tracer's per-caller child cache warm (a caller alternating between ten
    # callees makes each call's cost depend on the tracer's index layout).
    checksum = 0
    for start in range(0, CALLS * 2, BLOCK):
        for function, calls, iterations in plan:
            for call in range(start, min(start + BLOCK, calls)):
                checksum ^= function(call, iterations)
    return checksum


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=None)
    parser.add_argument("--factor", type=float, default=1.0)
    parser.add_argument("--double", type=int, default=None)
    args = parser.parse_args()
    pipeline(args.slow, args.factor, args.double)


if __name__ == "__main__":
    main()
