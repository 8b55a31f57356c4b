"""``pipegauge export RUN --format pstats|json|folded|speedscope|pprof|chrome -o FILE``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._errors import FAILURE_EXIT, PipegaugeError, UsageError
from ..exporters.to_chrome import export_chrome
from ..exporters.to_folded import export_folded
from ..exporters.to_json import export_json_text
from ..exporters.to_pprof import export_pprof
from ..exporters.to_pstats import export_pstats
from ..exporters.to_speedscope import export_speedscope
from .._files import write_atomic
from ._common import add_run_argument, check_output_file, load_run

NAME = "export"
HELP = "convert a run to another format (pstats, json, folded, speedscope, pprof, chrome)"
DESCRIPTION = """\
Convert a run (formats: docs/exports.md):
  pstats      cProfile's format, for pstats.Stats(FILE), snakeviz and gprof2dot
  json        everything in the profile (schema: docs/json-schema.md); -o - for stdout
  folded      collapsed stacks (exclusive ns) for flamegraph.pl, inferno, Pyroscope
  speedscope  speedscope's file format (https://www.speedscope.app)
  pprof       gzipped profile.proto for go tool pprof, Pyroscope, Grafana
  chrome      Chrome trace-event JSON for Perfetto: the call tree as nested
              spans (an aggregated layout, not a chronological trace)"""

# Formats the C engine writes (streaming, atomic): format -> exporter.
NATIVE_EXPORTERS = {
    "folded": export_folded,
    "speedscope": export_speedscope,
    "pprof": export_pprof,
    "chrome": export_chrome,
}
FORMATS = ("pstats", "json", *NATIVE_EXPORTERS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("--format", "-f", required=True, choices=FORMATS)
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="file to write ('-' = stdout, json only)")
    parser.add_argument("--no-correct", action="store_true",
                        help="export raw times, without subtracting the profiler's overhead")


def execute(args: argparse.Namespace) -> int:
    if args.output == "-" and args.format != "json":
        kind = "binary" if args.format in ("pstats", "pprof") else "written to a file"
        raise UsageError(f"--format {args.format} is {kind}: give a file with -o")
    output = Path(args.output)
    if args.output != "-":
        check_output_file(args.output)
    run = load_run(args.run)
    profile = run.profile
    assert profile is not None
    correct = run.options.correct_overhead and not args.no_correct
    try:
        if args.format == "pstats":
            export_pstats(profile, output, correct=correct)
        elif args.format in NATIVE_EXPORTERS:
            NATIVE_EXPORTERS[args.format](profile, output, correct=correct)
        else:
            text = export_json_text(profile, correct=correct)
            if args.output == "-":
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                write_atomic(output, text)
    except OSError as exc:
        raise PipegaugeError(f"cannot write {args.output!r}: {exc.strerror or exc}", FAILURE_EXIT) from None
    if args.output != "-":
        print(f"pipegauge: wrote {args.format} to {args.output}", file=sys.stderr)
    return 0
