"""The run log (pipegauge.log): what the profiler did during one run."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ._log import logger

from ._meta import iso_utc


class RunLog:
    """Timestamped lines kept in memory and written next to the profile.

    Every line is also a record of the ``pipegauge`` logger (see _log), so
    ``-v`` shows it live; the file keeps all levels whatever the logger's level.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []  # formatted records, oldest first
        self.warnings: list[str] = []  # the messages of WARNING records

    def _add(self, level: str, message: str) -> None:
        self.lines.append(f"{iso_utc(time.time())} {level:<7} {message}")

    def info(self, message: str) -> None:
        self._add("INFO", message)
        logger.info(message)

    def debug(self, message: str) -> None:
        self._add("DEBUG", message)
        logger.debug(message)

    def warning(self, message: str) -> None:
        self.warnings.append(message)
        self._add("WARNING", message)
        logger.warning(message)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)

    def write(self, path: Path) -> None:
        path.write_text(self.text(), encoding="utf-8")
