"""The ``pipegauge`` command line: one module per subcommand.

Each subcommand module provides NAME, HELP, DESCRIPTION,
``add_arguments(parser)`` and ``execute(args) -> int`` (the exit status).
Every failure the user can cause ends with one line on stderr,
``pipegauge: error: ...``, and a non-zero status (2 for usage errors).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from .. import _core
from .._log import set_verbosity
from .._errors import FAILURE_EXIT, PipegaugeError, UsageError
from .._version import __version__
from . import (baseline, check, config, diff, export, forecast, history, list_runs, report, run,
               scale, view)

COMMANDS: tuple[ModuleType, ...] = (run, view, export, report, config, scale, forecast, history,
                                    list_runs, baseline, diff, check)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting,
    so every error comes out as one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="pipegauge",
        description="A low-overhead profiler for Python data pipelines.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"pipegauge {__version__}")
    verbosity = argparse.ArgumentParser(add_help=False)
    verbosity.add_argument("-v", "--verbose", action="count", default=0,
                           help="say more on stderr (-v: what the profiler does, -vv: debug)")
    verbosity.add_argument("-q", "--quiet", action="count", default=0,
                           help="say less on stderr (-q: errors only)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for command in COMMANDS:
        subparser = subparsers.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.DESCRIPTION,
            allow_abbrev=False,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[verbosity],
        )
        command.add_arguments(subparser)
        subparser.set_defaults(execute=command.execute)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser()
    if argv and argv[0] == run.NAME:
        # The program's own arguments must never reach argparse.
        own, target, program_args = run.split_argv(list(argv[1:]))
        args = parser.parse_args([run.NAME, *own, *target])
        args.program_args = program_args
        args.run_tokens = (own, target)  # for run --repeat's child processes
        return args
    if argv and argv[0] == scale.NAME:
        own, target, program_args = scale.split_argv(list(argv[1:]))
        args = parser.parse_args([scale.NAME, *own, *target])
        args.program_args = program_args
        return args
    return parser.parse_args(list(argv))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    command = argv[0] if argv else ""
    try:
        args = parse_args(argv)
        set_verbosity(args.verbose, args.quiet)
        return int(args.execute(args))
    except PipegaugeError as exc:
        print(f"pipegauge: error: {_one_line(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except _core.FormatError as exc:
        print(f"pipegauge: error: {_one_line(str(exc))}", file=sys.stderr)
        return FAILURE_EXIT
    except BrokenPipeError:
        # `pipegauge view latest | head`: stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return FAILURE_EXIT
    except KeyboardInterrupt:
        if command == run.NAME:
            raise  # the profiled program was interrupted: exit by SIGINT, as CPython does
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug of ours: one line, traceback on request
        if os.environ.get("PIPEGAUGE_DEBUG"):
            raise
        print(f"pipegauge: error: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
              "(set PIPEGAUGE_DEBUG=1 for a traceback)", file=sys.stderr)
        return FAILURE_EXIT
