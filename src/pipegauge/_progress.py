"""The one-line progress indicator of ``pipegauge run`` on a terminal.

A daemon thread rewrites one stderr line (carriage return, erase line) once
a second after the run has lasted ``DELAY_S``: elapsed time, calls per
second (tracer events / 2 over the last second: one entry and one exit per
call) and the process's resident memory. Only when stderr is a TTY, never
with -q; the line is erased when the run stops.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from . import _core
from ._units import format_bytes

DELAY_S = 2.0  # short runs never show the line
INTERVAL_S = 1.0


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as stream:
            return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def format_line(elapsed: float, calls_per_s: float, rss: int) -> str:
    if calls_per_s >= 1e6:
        rate = f"{calls_per_s / 1e6:.1f}M"
    elif calls_per_s >= 1e3:
        rate = f"{calls_per_s / 1e3:.1f}k"
    else:
        rate = f"{calls_per_s:.0f}"
    minutes, seconds = divmod(int(elapsed), 60)
    return f"pipegauge: {minutes:d}:{seconds:02d} elapsed, {rate} calls/s, RSS {format_bytes(rss)}"


class Progress:
    """Start with ``start()``, end with ``stop()`` (idempotent)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._done = threading.Event()
        self._shown = False  # a line is on screen and must be erased
        self._lock = threading.Lock()  # guards writes to the stream and _shown
        self._thread: threading.Thread | None = None

    @staticmethod
    def wanted(stream: TextIO, quiet: int) -> bool:
        try:
            return not quiet and stream.isatty() and os.environ.get("TERM") != "dumb"
        except (AttributeError, ValueError):
            return False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="pipegauge-progress", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        started = time.monotonic()
        if self._done.wait(DELAY_S):
            return
        last_events, last_time = _core.event_count(), time.monotonic()
        while not self._done.wait(INTERVAL_S):
            events, now = _core.event_count(), time.monotonic()
            rate = max(events - last_events, 0) / 2 / max(now - last_time, 1e-9)
            last_events, last_time = events, now
            line = format_line(now - started, rate, _rss_bytes())
            with self._lock:
                if self._done.is_set():
                    return
                try:
                    self._stream.write("\r\x1b[K" + line)
                    self._stream.flush()
                    self._shown = True
                except (OSError, ValueError):
                    return

    def stop(self) -> None:
        self._done.set()
        with self._lock:
            if self._shown:
                try:
                    self._stream.write("\r\x1b[K")
                    self._stream.flush()
                except (OSError, ValueError):
                    pass
                self._shown = False
