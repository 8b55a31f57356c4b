"""The run log (pipegauge.log): what the profiler did during one run."""

from __future__ import annotations

import time
from pathlib import Path

from ._meta import iso_utc


class RunLog:
    """Timestamped lines kept in memory and written next to the profile.

    A list, not the logging module: the profiled program owns logging's
    configuration and must not see pipegauge's records.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []  # formatted records, oldest first
        self.warnings: list[str] = []  # the messages of WARNING records

    def _add(self, level: str, message: str) -> None:
        self.lines.append(f"{iso_utc(time.time())} {level:<7} {message}")

    def info(self, message: str) -> None:
        self._add("INFO", message)

    def warning(self, message: str) -> None:
        self.warnings.append(message)
        self._add("WARNING", message)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def write(self, path: Path) -> None:
        path.write_text(self.text(), encoding="utf-8")
