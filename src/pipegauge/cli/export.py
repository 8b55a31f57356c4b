"""``pipegauge export RUN --format pstats|json -o FILE``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .._errors import FAILURE_EXIT, PipegaugeError, UsageError
from ..exporters.to_json import export_json_text
from ..exporters.to_pstats import export_pstats
from ._common import add_run_argument, load_run

NAME = "export"
HELP = "convert a run to another format (pstats, json)"
DESCRIPTION = """\
Convert a run:
  pstats  cProfile's format, for pstats.Stats(FILE), snakeviz and gprof2dot
  json    everything in the profile (schema: docs/json-schema.md); -o - for stdout"""

FORMATS = ("pstats", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("--format", "-f", required=True, choices=FORMATS)
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="file to write ('-' = stdout, json only)")
    parser.add_argument("--no-correct", action="store_true",
                        help="export raw times, without subtracting the profiler's overhead")


def execute(args: argparse.Namespace) -> int:
    if args.output == "-" and args.format != "json":
        raise UsageError(f"--format {args.format} is binary: give a file with -o")
    output = Path(args.output)
    if args.output != "-":
        parent = output.parent if str(output.parent) else Path(os.curdir)
        if output.is_dir():
            raise PipegaugeError(f"cannot write {args.output!r}: it is a directory", FAILURE_EXIT)
        if not parent.is_dir():
            raise PipegaugeError(f"cannot write {args.output!r}: no directory {str(parent)!r}", FAILURE_EXIT)
    run = load_run(args.run)
    profile = run.profile
    assert profile is not None
    correct = run.options.correct_overhead and not args.no_correct
    try:
        if args.format == "pstats":
            export_pstats(profile, output, correct=correct)
        else:
            text = export_json_text(profile, correct=correct)
            if args.output == "-":
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                temporary = output.with_name(f"{output.name}.tmp-{os.getpid()}")
                try:
                    temporary.write_text(text, encoding="utf-8")
                    os.replace(temporary, output)
                finally:
                    if temporary.exists():
                        temporary.unlink()
    except OSError as exc:
        raise PipegaugeError(f"cannot write {args.output!r}: {exc.strerror or exc}", FAILURE_EXIT) from None
    if args.output != "-":
        print(f"pipegauge: wrote {args.format} to {args.output}", file=sys.stderr)
    return 0
