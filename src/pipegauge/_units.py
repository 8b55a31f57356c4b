"""Human-readable numbers for terminal output (durations, bytes, counts)."""

from __future__ import annotations

_DURATION_UNITS = (("s", 1e9), ("ms", 1e6), ("us", 1e3))


def format_duration_ns(ns: float) -> str:
    """A duration in at most 6 characters: '950ns', '12.3us', '1.50ms', '12.3s'."""
    if ns != ns or ns < 0:  # NaN or negative (never expected after correction)
        ns = 0.0
    for unit, scale in _DURATION_UNITS:
        if ns >= scale:
            value = ns / scale
            if value < 10:
                text = f"{value:.2f}"
            elif value < 100:
                text = f"{value:.1f}"
            else:
                text = f"{value:.0f}"
            return text + unit
    return f"{ns:.0f}ns"


def format_duration_s(seconds: float) -> str:
    """Like format_duration_ns, for seconds."""
    return format_duration_ns(seconds * 1e9)


def format_bytes(count: float) -> str:
    """'512 B', '1.2 KiB', '3.4 MiB', ..."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover (loop always returns)


def format_count(count: float) -> str:
    """An integer with thousands separators: 1,234,567."""
    return f"{int(count):,}"


def format_percent(fraction: float) -> str:
    """A fraction as '12.3%' (or '<0.1%' for tiny non-zero values)."""
    if 0 < fraction < 0.001:
        return "<0.1%"
    return f"{fraction * 100:.1f}%"


def short_size(n: float) -> str:
    """An input size: 1000 -> '1000', 1e7 -> '1e7', 2.5e7 -> '2.5e7'."""
    if n < 1e6 and float(n).is_integer():
        return str(int(n))
    mantissa, _, exponent = f"{n:.3g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa
