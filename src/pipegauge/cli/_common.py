"""Helpers shared by the subcommands: finding and loading a run."""

from __future__ import annotations

import argparse

from .. import _core
from .._errors import FAILURE_EXIT, PipegaugeError
from .._rundir import resolve_profile_path
from .._run import Run

RUN_HELP = "a run directory, a profile file, a run name under .pipegauge/runs, or 'latest'"


def add_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help=RUN_HELP)


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
