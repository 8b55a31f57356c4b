"""Helpers shared by the subcommands: finding and loading a run."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import _core
from .._errors import FAILURE_EXIT, USAGE_EXIT, PipegaugeError
from .._children import PROCESSES_SUBDIR
from .._rundir import resolve_profile_path
from .._run import Run

RUN_HELP = "a run directory, a profile file, a run name under .pipegauge/runs, or 'latest'"


def add_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help=RUN_HELP)


def check_output_file(argument: str) -> Path:
    """The path of an output file to write; PipegaugeError with one line
    when it names a directory or its directory does not exist."""
    output = Path(argument)
    parent = output.parent if str(output.parent) else Path(os.curdir)
    if output.is_dir():
        raise PipegaugeError(f"cannot write {argument!r}: it is a directory", FAILURE_EXIT)
    if not parent.is_dir():
        raise PipegaugeError(f"cannot write {argument!r}: no directory {str(parent)!r}", FAILURE_EXIT)
    return output


def load_run(spec: str) -> Run:
    """The Run that RUN names; PipegaugeError with one line when it cannot be read."""
    path = resolve_profile_path(spec)
    try:
        return Run.load(path)
    except _core.FormatError as exc:
        message = str(exc)
        if str(path) not in message:
            message = f"{path}: {message}"
        raise PipegaugeError(message, FAILURE_EXIT) from None
    except OSError as exc:
        raise PipegaugeError(f"cannot read {str(path)!r}: {exc.strerror or exc}", FAILURE_EXIT) from None
    except MemoryError:
        raise PipegaugeError(f"{path}: out of memory while reading the profile", FAILURE_EXIT) from None


def process_profile(spec: str, pid: int) -> str:
    """The profile of process pid alone in the multi-process run RUN names."""
    path = resolve_profile_path(spec)
    candidate = path.parent / PROCESSES_SUBDIR / f"{pid}.pgprof"
    if not candidate.is_file():
        known = sorted(int(entry.stem) for entry in (path.parent / PROCESSES_SUBDIR).glob("*.pgprof")
                       if entry.stem.isdigit())
        listed = ", ".join(str(item) for item in known) if known else "none: a single-process run"
        raise PipegaugeError(f"no process {pid} in {str(path.parent)!r} (processes: {listed})",
                             USAGE_EXIT)
    return str(candidate)
