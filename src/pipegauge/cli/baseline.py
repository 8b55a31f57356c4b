"""``pipegauge baseline set RUN`` / ``pipegauge baseline show``: the run
(or group) a program's later runs are checked against."""

from __future__ import annotations

import argparse
import time

from .._errors import UsageError
from .._sides import Resolver
from ._compare import add_history_argument

NAME = "baseline"
HELP = "mark a run as its program's baseline, or show the baselines"
DESCRIPTION = """\
'baseline set RUN' marks RUN (a history run id, 'latest', a run directory or
profile file that the history recorded) as the baseline of its program;
'pipegauge check' and 'diff baseline ...' compare against it. A run of a
'run --repeat N' group stands for its whole group. 'baseline show' lists
the baselines."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("set", "show"), help="set or show")
    parser.add_argument("run", metavar="RUN", nargs="?", default=None, help="the run (for set)")
    add_history_argument(parser)


def execute(args: argparse.Namespace) -> int:
    resolver = Resolver(args.history_path, readonly=args.action == "show")
    try:
        history = resolver.require_history()
        if args.action == "show":
            baselines = history.baselines()
            if not baselines:
                print("no baselines set")
            for program, run_id in sorted(baselines.items()):
                print(f"#{run_id}  {program}")
            return 0
        if args.run is None:
            raise UsageError("baseline set: give the run (e.g. 'pipegauge baseline set latest')")
        run = resolver.run(args.run)
        if not run.id:
            raise UsageError(f"{args.run!r} is not in the history; only recorded runs can be baselines")
        history.set_baseline(run.program, run.id)
        group = f", group {run.group_id}" if run.group_id else ""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.started))
        print(f"baseline of {run.program}: run #{run.id} ({when}{group})")
        return 0
    finally:
        resolver.close()
