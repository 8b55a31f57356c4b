"""``pipegauge report RUN -o FILE.html``: the self-contained HTML report."""

from __future__ import annotations

import argparse

from .._errors import FAILURE_EXIT, PipegaugeError
from ..report import render
from ._common import add_run_argument, check_output_file, load_run

NAME = "report"
HELP = "write a run's self-contained HTML report"
DESCRIPTION = """\
Write one HTML file (works offline, from disk): the run's header, an
interactive flame graph, the call tree and a sortable function table.
Call trees too large for the page are pruned: small paths are merged into
"[other]" nodes, totals kept. Every run directory already has report.html."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("-o", "--output", required=True, metavar="FILE.html",
                        help="the HTML file to write")


def execute(args: argparse.Namespace) -> int:
    output = check_output_file(args.output)
    run = load_run(args.run)
    try:
        render(run, output)
    except OSError as exc:
        raise PipegaugeError(f"cannot write {args.output!r}: {exc.strerror or exc}", FAILURE_EXIT) from None
    print(f"pipegauge: wrote {output}")
    return 0
