"""``pipegauge list``: the runs stored in the history, newest first."""

from __future__ import annotations

import argparse
import sys

from .._sides import Resolver
from ..renderers.history import render_run_list
from ._compare import add_history_argument
from .history import positive

NAME = "list"
HELP = "list the runs stored in the history"
DESCRIPTION = """\
List recorded runs, newest first: id (what diff, check and baseline take),
start, run time, git commit (* = uncommitted changes), group of a
'run --repeat N', name and profile path."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="only runs of this name")
    parser.add_argument("--limit", type=positive, default=50, metavar="N",
                        help="at most N runs (default 50)")
    add_history_argument(parser)


def execute(args: argparse.Namespace) -> int:
    resolver = Resolver(args.history_path)
    try:
        history = resolver.require_history()
        text = render_run_list(history.runs(name=args.name, limit=args.limit), history.baselines())
    finally:
        resolver.close()
    sys.stdout.write(text)
    return 0
