"""``sample_size`` and ``expected_size`` from ``[tool.pipegauge]`` in
pyproject.toml: "the runs were measured at" and "forecast for".

One small reader on purpose: the configuration system will replace
``read_scale_config`` and keep its result's shape.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._errors import UsageError
from ._scale_param import parse_size

SCALE_KEYS = ("sample_size", "expected_size")

_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*(#.*)?$")
_ENTRY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=\s*([^#]*?)\s*(#.*)?$")


def _find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _table(text: str) -> dict[str, str]:
    """The scale keys' raw values in [tool.pipegauge] (a line-based subset of
    TOML: numbers and quoted numbers are all these keys take)."""
    values: dict[str, str] = {}
    inside = False
    for line in text.splitlines():
        section = _SECTION.match(line)
        if section:
            inside = section.group(1).strip() == "tool.pipegauge"
            continue
        entry = _ENTRY.match(line) if inside else None
        if entry and entry.group(1) in SCALE_KEYS:
            values[entry.group(1)] = entry.group(2).strip().strip("\"'")
    return values


def read_scale_config(start: Path | None = None) -> dict[str, int | float]:
    """{"sample_size": n, "expected_size": n}, each only when set, from the
    nearest pyproject.toml at or above start (default: the current
    directory). UsageError (one line) for a value that is not a size."""
    path = _find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return {}
    try:
        raw = _table(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}
    config: dict[str, int | float] = {}
    for key, text in raw.items():
        try:
            config[key] = parse_size(text)
        except ValueError:
            raise UsageError(f"{path}: [tool.pipegauge] {key} = {text!r} is not a size (a number >= 1)") from None
    return config
