"""Shared text helpers for the renderers: labels that fit, colour on a TTY."""

from __future__ import annotations

import os
import re
from typing import IO

from .._stats import FunctionStats


def relative_file(path: str, cwd: str) -> str:
    """path relative to cwd when it lies below it, else unchanged."""
    if path.startswith(cwd.rstrip(os.sep) + os.sep):
        return path[len(cwd.rstrip(os.sep)) + 1:]
    return path


def fit(text: str, width: int) -> str:
    """text cut to width, keeping its end (the function name) visible."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width <= 3:
        return text[-width:]
    return "..." + text[-(width - 3):]


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
    the file's base name, else the base name cut from the left so that the
    line and function name stay whole."""
    if stats.kind == "builtin":
        return fit(stats.label if len(stats.label) <= width else short_builtin(stats.label), width)
    tail = f":{stats.line}({stats.name})"
    for file in (relative_file(stats.file, cwd), os.path.basename(stats.file)):
        if len(file) + len(tail) <= width:
            return file + tail
    room = width - len(tail)
    if room >= 6:
        return fit(os.path.basename(stats.file), room) + tail
    return fit(os.path.basename(stats.file) + tail, width)


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
