"""The ``pipegauge`` logger: what the profiler says, through standard logging.

Every record goes to ``logging.getLogger("pipegauge")``. pipegauge gives that
logger one handler of its own, which prints records at its level (WARNING
unless ``-v``/``-q`` or the program says otherwise) on stderr as
``pipegauge: warning: ...``. The logger does not propagate, so a profiled
program's own logging setup never receives profiler lines unless it attaches
a handler to the ``pipegauge`` logger itself (or sets ``propagate``). Each run
also keeps its own lines, all levels, in ``pipegauge.log`` (see _runlog).
"""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "pipegauge"
logger = logging.getLogger(LOGGER_NAME)


class StderrHandler(logging.Handler):
    """Writes ``pipegauge: <level>: <message>`` to the current sys.stderr
    (looked up per record, so redirections and capture see it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            if stream is None:
                return
            stream.write(f"pipegauge: {record.levelname.lower()}: {record.getMessage()}\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging must never break the program
            self.handleError(record)


def _install() -> StderrHandler:
    for handler in logger.handlers:
        if isinstance(handler, StderrHandler):
            return handler
    handler = StderrHandler()
    logger.addHandler(handler)
    logger.propagate = False
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
    return handler


HANDLER = _install()


def set_verbosity(verbose: int, quiet: int) -> None:
    """-v: INFO, -vv: DEBUG; -q: ERROR only, -qq: nothing; default WARNING."""
    level = logging.WARNING - 10 * verbose + 10 * quiet
    logger.setLevel(max(logging.DEBUG, min(level, logging.CRITICAL + 10)))
