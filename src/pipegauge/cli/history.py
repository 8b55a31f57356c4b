"""``pipegauge history``: recorded runs of a program with the trend of the
run time and of its top functions as sparklines."""

from __future__ import annotations

import argparse
import sys

from .._sides import Resolver
from ..renderers.history import render_run_list, render_trends
from ._compare import add_history_argument

NAME = "history"
HELP = "recorded runs with sparkline trends of the run time and the top functions"
DESCRIPTION = """\
Show the recorded runs of one program (the newest run's, or --name X, or
--program PATH) with a sparkline of the run time and of the self time of the
top functions, oldest to newest, then the runs themselves."""


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="only runs of this name")
    parser.add_argument("--program", help="only runs of this program (script path or --name)")
    parser.add_argument("--limit", type=positive, default=20, metavar="N",
                        help="the last N runs (default 20)")
    parser.add_argument("--top", type=positive, default=5, metavar="N",
                        help="trend lines for the top N functions (default 5)")
    add_history_argument(parser)


def execute(args: argparse.Namespace) -> int:
    resolver = Resolver(args.history_path)
    try:
        history = resolver.require_history()
        program = args.program
        if program is None and args.name is None:
            latest = history.runs(limit=1)
            program = latest[0].program if latest else None
        runs = history.runs(program=program, name=args.name, limit=args.limit, with_functions=True)
        output = render_trends(runs, top=args.top)
        if runs:
            output += "\n" + render_run_list(runs, history.baselines())
    finally:
        resolver.close()
    sys.stdout.write(output)
    return 0
