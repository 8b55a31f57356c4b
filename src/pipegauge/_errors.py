"""Errors that end a pipegauge command with one clear line."""

from __future__ import annotations

USAGE_EXIT = 2
"""Exit status for input the user typed wrong (as argparse and CPython use)."""

FAILURE_EXIT = 1
"""Exit status for input that could not be read or output that could not be written."""


class PipegaugeError(Exception):
    """A failure to report as ``pipegauge: error: <message>``, no traceback.

    ``exit_code`` is the process exit status the CLI uses for it.
    """

    def __init__(self, message: str, exit_code: int = FAILURE_EXIT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(PipegaugeError, ValueError):
    """The input itself is wrong (unknown option, missing argument, bad sort
    key, ...); a ValueError for API callers."""

    def __init__(self, message: str) -> None:
        super().__init__(message, USAGE_EXIT)
