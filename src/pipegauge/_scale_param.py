"""The input size of a run, for scaling forecasts.

``pipegauge scale`` passes each size to the program three ways: ``{n}`` in
its arguments, the environment variable PIPEGAUGE_N, and
``pipegauge.scale_param(default)``. The size a run used is recorded in its
profile metadata as ``scale.n`` so ``pipegauge forecast`` can fit runs made
any way (``PIPEGAUGE_N=10000 pipegauge run etl.py`` works too).
"""

from __future__ import annotations

import os
import threading

SIZE_ENV = "PIPEGAUGE_N"
"""Environment variable carrying the size to the program."""

SIZE_META = "scale.n"
"""Profile metadata key holding the size a run was made at."""

_lock = threading.Lock()  # guards _used
_used: int | float | None = None  # the size scale_param() last returned


def parse_size(text: str) -> int | float:
    """'1000', '1e4', '1_000_000', '2.5e6' -> a number >= 1 (an int when whole);
    ValueError otherwise."""
    value = float(text.strip().replace("_", ""))
    if not value >= 1 or value == float("inf"):
        raise ValueError(f"a size must be a number >= 1, not {text!r}")
    return int(value) if value.is_integer() and value < 2**63 else value


def format_size(value: float) -> str:
    """A size as typed back: '1000', '1e+07' stays '10000000'."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def scale_param(default: int | float) -> int | float:
    """The input size to work at: PIPEGAUGE_N when set (by ``pipegauge
    scale``, or by hand), else default. The size is recorded in the profile
    of the current run as ``scale.n``. ValueError when PIPEGAUGE_N is not a
    number >= 1."""
    global _used
    text = os.environ.get(SIZE_ENV)
    if text is None or not text.strip():
        value = default
    else:
        try:
            value = parse_size(text)
        except ValueError:
            raise ValueError(f"{SIZE_ENV}={text!r} is not a size (a number >= 1)") from None
    with _lock:
        _used = value
    return value


def recorded_size() -> str | None:
    """The size to record in a profile's metadata: what scale_param()
    returned, else PIPEGAUGE_N when it holds a size, else None."""
    with _lock:
        used = _used
    if used is not None:
        return format_size(used)
    text = os.environ.get(SIZE_ENV)
    if text:
        try:
            return format_size(parse_size(text))
        except ValueError:
            return None
    return None
