"""``pipegauge diff BASE CURRENT``: per-function comparison of two runs or
groups of repeated runs, with a verdict per function."""

from __future__ import annotations

import argparse
import json
import sys

from ..renderers._text import Style
from ..renderers.diff import render_diff
from ._compare import add_history_argument, add_statistics_arguments, compare_specs

NAME = "diff"
HELP = "compare two runs per function: regressed, improved, unchanged, new, gone"
DESCRIPTION = """\
Compare CURRENT against BASE per function: change of self time, total time,
calls, p95 latency (and memory or I/O when both runs recorded them), with a
verdict: regressed, improved, unchanged, new or gone. BASE and CURRENT are
history run ids (12 or #12), 'latest', 'baseline' (the program's baseline),
run directories or profile files; a run of a 'run --repeat N' group stands
for the whole group. A time change is flagged only when the rank test on the
per-call latency histograms is significant (Benjamini-Hochberg across
functions), the bootstrap interval across repeats excludes no change, and it
is larger than the function's run-to-run noise learned from the history and
than --min-effect. Call-count changes are exact and flagged as such."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", metavar="BASE", help="the run to compare against")
    parser.add_argument("current", metavar="CURRENT", nargs="?", default="latest",
                        help="the run to judge (default latest)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--all", action="store_true", help="also list unchanged functions")
    parser.add_argument("--limit", type=int, default=40, metavar="N",
                        help="show at most N functions (default 40; 0 = all)")
    add_statistics_arguments(parser)
    add_history_argument(parser)


def execute(args: argparse.Namespace) -> int:
    result = compare_specs(args, args.base, args.current)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_diff(result, limit=args.limit or None, show_all=args.all,
                                     style=Style.for_stream(sys.stdout)))
    sys.stdout.flush()
    return 0
