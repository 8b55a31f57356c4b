"""A program whose functions have known costs, for the scaling tests.

Each function busy-waits for a known time at size n: constant, linear,
n log n and quadratic in n (plus a small fixed cost of its own call). The
time is spent in the function itself (run with --no-builtins, so the
clock reads are not split off into a builtin). Real Python work cannot
be used for the quadratic at 100x the largest measured size (it would run
for hours); a busy wait has exactly the cost the test says it has.

One copy of each function per trial (named kind_t<trial>), so one run
measures every trial independently. PIPEGAUGE_SYNTH_TRIALS sets the number
of trials.
"""

import math
import os
from time import perf_counter

import pipegauge

# seconds at size n
COSTS = {
    "constant": "1e-4",
    "linear": "1e-8 * n",
    "nlogn": "8.7e-10 * n * log(n)",
    "quadratic": "4e-15 * n * n",
}

TEMPLATE = """
def {name}(n):
    end = perf_counter() + {cost}
    while perf_counter() < end:
        pass
"""


def make_functions(trials):
    source = "".join(TEMPLATE.format(name=f"{kind}_t{trial}", cost=cost)
                     for trial in range(trials) for kind, cost in COSTS.items())
    namespace = {"perf_counter": perf_counter, "log": math.log}
    exec(compile(source, os.path.abspath(__file__) + ".generated", "exec"), namespace)
    return [namespace[f"{kind}_t{trial}"] for trial in range(trials) for kind in COSTS]


def main():
    n = pipegauge.scale_param(1000)
    for function in make_functions(int(os.environ.get("PIPEGAUGE_SYNTH_TRIALS", "10"))):
        function(n)


main()
