"""``pipegauge check``: the CI gate. Exit 1 on a significant regression
above the threshold, 0 otherwise, 2 on usage errors."""

from __future__ import annotations

import argparse

from .._config import report_warnings, resolve
from .._diff import REGRESSED, regressions
from ..renderers.junit import write_junit
from ._common import check_output_file
from ._compare import add_history_argument, add_statistics_arguments, compare_specs, percent

NAME = "check"
HELP = "CI gate: exit 1 when the current run regressed significantly against the baseline"
DESCRIPTION = """\
Compare the current run (default: latest) with the baseline (default: the
program's baseline, see 'pipegauge baseline set') as 'pipegauge diff' does,
and exit 1 when a function regressed significantly by more than
--max-regression on --metric (time: self time; calls: call count; memory:
memory metrics when recorded), 0 otherwise, 2 on usage errors (an unknown
run, a bad threshold). Prints a short summary; --junit FILE writes JUnit XML
(one test case per compared function) for CI dashboards."""

METRICS = ("time", "memory", "calls")
DEFAULT_MAX_REGRESSION = "5%"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", default="baseline", metavar="REF",
                        help="the reference run (default: the program's baseline)")
    parser.add_argument("--current", default="latest", metavar="RUN",
                        help="the run to judge (default latest)")
    parser.add_argument("--max-regression", type=percent, default=None, metavar="P%",
                        help=f"tolerated slowdown (default {DEFAULT_MAX_REGRESSION}, or "
                             "regression_threshold from the configuration)")
    parser.add_argument("--metric", choices=METRICS, default="time",
                        help="what a regression is measured on (default time)")
    parser.add_argument("--only", metavar="PATTERN",
                        help="judge only functions and stages whose label (or stage name) "
                             "contains PATTERN (or matches it as a glob)")
    parser.add_argument("--junit", metavar="FILE", help="also write the result as JUnit XML")
    add_statistics_arguments(parser)
    add_history_argument(parser)


def execute(args: argparse.Namespace) -> int:
    if args.max_regression is None:
        settings = resolve({})
        report_warnings(settings)
        args.max_regression = float(settings["regression_threshold"])
    junit = check_output_file(args.junit) if args.junit else None
    result = compare_specs(args, args.baseline, args.current)
    found = regressions(result, metric=args.metric, threshold=args.max_regression, pattern=args.only)
    print(f"pipegauge check: {result.current.label} against {result.base.label}")
    judged = [item for item in result.functions if item.matches(args.only)]
    flagged_other = [item for item in judged if item.verdict == REGRESSED and item not in found]
    for item in found:
        print(f"REGRESSED {item.label}: {'; '.join(item.reasons)}")
    for item in flagged_other:
        print(f"note      {item.label}: {'; '.join(item.reasons)} (not gated: metric or threshold)")
    if junit is not None:
        write_junit(junit, result, judged, found, metric=args.metric, threshold=args.max_regression)
    if found:
        print(f"FAIL: {len(found)} of {len(judged)} functions regressed by more than "
              f"{args.max_regression:.0%} ({args.metric})")
        return 1
    print(f"OK: no significant {args.metric} regression above {args.max_regression:.0%} "
          f"in {len(judged)} functions")
    return 0

