"""Shared text helpers for the renderers: labels and numbers that fit, colour on a TTY."""

from __future__ import annotations

import os
import re
from typing import IO

from .._stats import FunctionStats
from .._units import format_duration_s


def relative_file(path: str, cwd: str) -> str:
    """path relative to cwd when it lies below it, else unchanged."""
    if path.startswith(cwd.rstrip(os.sep) + os.sep):
        return path[len(cwd.rstrip(os.sep)) + 1:]
    return path


WIDTH = 80
"""Every line ``pipegauge view`` prints fits in this many columns."""


def fit_middle(text: str, width: int) -> str:
    """text cut to width by replacing its middle with '...', so that both its
    start and its end stay readable."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= 5:
        return text[-width:]
    tail = (width - 3 + 1) // 2  # the end (the name, the line) gets the odd column
    head = width - 3 - tail
    return text[:head] + "..." + text[-tail:]


def short_count(count: int, width: int = 7) -> str:
    """count as digits when they fit in width, else '12.3k', '4.56M', '789G'."""
    text = str(count)
    if len(text) <= width:
        return text
    value = float(count)
    for unit in ("k", "M", "G", "T", "P", "E"):
        value /= 1000.0
        if value < 999.5:
            return (f"{value:.3g}" if value < 100 else f"{value:.0f}") + unit
    return f"{value:.0f}E"


def short_duration(seconds: float) -> str:
    """A duration in at most 6 characters: format_duration_s below 10 minutes,
    then minutes, hours and days ('12.5m', '34.3h', '412d')."""
    if seconds < 600:
        return format_duration_s(seconds)
    for unit, scale, below in (("m", 60.0, 6000.0), ("h", 3600.0, 360_000.0), ("d", 86400.0, 8.64e10)):
        if seconds < below:
            value = seconds / scale
            return f"{value:.3g}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return ">1e6d"


_METHOD_LABEL = re.compile(r"^\{method '(?P<method>[^']*)' of '(?P<type>[^']*)' objects\}$")


def short_builtin(label: str) -> str:
    """'{built-in method time.sleep}' -> '{time.sleep}',
    "{method 'append' of 'list' objects}" -> '{list.append}'."""
    prefix = "{built-in method "
    if label.startswith(prefix):
        return "{" + label[len(prefix):]
    match = _METHOD_LABEL.match(label)
    if match:
        return "{" + match["type"] + "." + match["method"] + "}"
    return label


def label_for(stats: FunctionStats, cwd: str, width: int) -> str:
    """The pstats label, shortened to width: the path relative to cwd, else
    the file's base name, else the base name cut in the middle (or just
    '...') so that the line and function name stay whole, else (a very long
    name) both the 'file:line' and the name cut in the middle."""
    if width <= 0:
        return ""
    if stats.kind == "builtin":
        return fit_middle(stats.label if len(stats.label) <= width else short_builtin(stats.label), width)
    tail = f":{stats.line}({stats.name})"
    base = os.path.basename(stats.file)
    for file in (relative_file(stats.file, cwd), base):
        if len(file) + len(tail) <= width:
            return file + tail
    if width - len(tail) >= 6:
        return fit_middle(base, width - len(tail)) + tail
    if width - len(tail) >= 3:
        return "..." + tail
    # The name alone is too long: about a third for 'file:line' (just '...:line'
    # when that leaves the file under 6 characters), the rest for the name.
    line = f":{stats.line}"
    file_room = width // 3 - len(line)
    where = (fit_middle(base, file_room) if file_room >= 6 else "...") + line
    room = width - len(where) - 2  # the parentheses
    if room < 5:
        return fit_middle(f"{base}{line}({stats.name})", width)
    return f"{where}({fit_middle(stats.name, room)})"


class Style:
    """ANSI styling, a no-op unless enabled."""

    _CODES = {"bold": "1", "dim": "2", "red": "31", "yellow": "33", "green": "32", "cyan": "36"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        codes = ";".join(self._CODES[name] for name in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    @classmethod
    def for_stream(cls, stream: IO[str]) -> Style:
        """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
        if "NO_COLOR" in os.environ:
            return cls(False)
        try:
            return cls(stream.isatty())
        except (AttributeError, ValueError):
            return cls(False)


def bar(fraction: float, width: int) -> str:
    """An ASCII bar: '#' for the share, '.' for the rest."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = int(fraction * width + 0.5)
    return "#" * filled + "." * (width - filled)
