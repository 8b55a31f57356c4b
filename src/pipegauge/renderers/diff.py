"""The terminal diff table of ``pipegauge diff`` (and ``view --diff``):
one line per function, a verdict and the change of each metric, every line
within 80 columns; flagged functions get a second line saying why."""

from __future__ import annotations

import math

from .._diff import GONE, IMPROVED, NEW, REGRESSED, UNCHANGED, DiffResult, FunctionDiff
from .._units import format_duration_ns
from ._text import WIDTH, Style, fit_middle, short_duration

_VERDICT_STYLE = {REGRESSED: ("bold", "red"), IMPROVED: ("green",), NEW: ("cyan",), GONE: ("dim",)}
_COLUMN = 7  # width of each numeric column


def format_change(change: float | None) -> str:
    """'+10.3%', '-4.0%', '=', '+250%', '>+999%', '-' (undefined)."""
    if change is None:
        return "-"
    if change == 0:
        return "="
    if math.isinf(change):
        return "from 0"
    percent = change * 100
    if abs(percent) >= 999.5:
        return ">+999%" if percent > 0 else "<-999%"
    return f"{percent:+.0f}%" if abs(percent) >= 99.95 else f"{percent:+.1f}%"


def _self_now(item: FunctionDiff) -> str:
    base, current = item.values["self"]
    value = current if current is not None else base
    return short_duration((value or 0.0) * 1e-9)


def header_lines(result: DiffResult) -> list[str]:
    base, current = result.base, result.current
    lines = [fit_middle(f"base:    {base.label}", WIDTH), fit_middle(f"current: {current.label}", WIDTH)]
    if base.program and base.program != current.program:
        lines.append(fit_middle(f"note: comparing different programs ({base.program} and "
                                f"{current.program})", WIDTH))
    duration = (f"run time {format_duration_ns(base.duration_ns)} -> "
                f"{format_duration_ns(current.duration_ns)}")
    if base.duration_ns > 0:
        duration += f" ({format_change(current.duration_ns / base.duration_ns - 1)}"
        if result.duration_interval:
            _, low, high = result.duration_interval
            duration += f", {result.settings.confidence:.0%} CI {format_change(low - 1)} .. {format_change(high - 1)}"
        duration += ")"
    lines.append(duration)
    counts = {verdict: 0 for verdict in (REGRESSED, IMPROVED, NEW, GONE, UNCHANGED)}
    for item in result.functions:
        counts[item.verdict] += 1
    lines.append(", ".join(f"{count} {verdict}" for verdict, count in counts.items()))
    return lines


def render_diff(result: DiffResult, *, limit: int | None = None, show_all: bool = False,
                style: Style | None = None) -> str:
    style = style or Style(False)
    extra = result.extra_metrics
    # as many extra columns as leave the label 20 characters, flagged metrics first
    room = max(0, (WIDTH - 10 - 20) // (_COLUMN + 1) - 5)
    flagged = {metric for item in result.functions for metric in item.flags}
    extra = sorted(extra, key=lambda name: (name not in flagged, name))[:room]
    columns = ["self", "Δself", "Δtotal", "Δcalls", "Δp95"] + ["Δ" + name[:5] for name in extra]
    label_width = max(20, WIDTH - 10 - (_COLUMN + 1) * len(columns))
    lines = header_lines(result) + [""]
    head = f"{'verdict':<9} " + " ".join(f"{name:>{_COLUMN}}" for name in columns) + "  function"
    lines.append(style(head[:WIDTH], "bold"))
    shown = [item for item in result.functions if show_all or item.verdict != UNCHANGED]
    hidden = len(result.functions) - len(shown)
    if limit:
        hidden += max(0, len(shown) - limit)
        shown = shown[:limit]
    for item in shown:
        cells = [_self_now(item)] + [format_change(item.change(metric))
                                     for metric in ("self", "total", "calls", "p95", *extra)]
        row = (f"{item.verdict:<9} " + " ".join(f"{cell:>{_COLUMN}}" for cell in cells) + "  "
               + fit_middle(item.label, label_width))
        lines.append(style(row[:WIDTH], *_VERDICT_STYLE.get(item.verdict, ())))
        for reason in item.reasons:
            lines.append(fit_middle(f"          {reason}", WIDTH))
    if not shown:
        lines.append("no function changed beyond its noise")
    if hidden:
        lines.append(f"({hidden} more function{'s' if hidden != 1 else ''} not shown; --all shows unchanged ones)")
    return "\n".join(lines) + "\n"
