"""``pipegauge view --charts``: horizontal ASCII bar charts of the top N
functions by self time, total time, calls and memory, at most 80 columns wide.

Each chart is one Metric: a title, how to read the value from a
FunctionStats, and how to print it. A metric whose value is None for every
function was not recorded in this run, and gets one line saying so instead
of a chart. Memory reads ``FunctionStats.allocated_bytes`` (bytes allocated
by the function itself); until the resources issue adds that field, the
memory chart is always that one line, and it appears by itself once the
field exists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._stats import FunctionStats
from ._text import WIDTH, Style, label_for, short_count, short_duration
from .table import matches

DEFAULT_TOP = 10
MEMORY_FIELD = "allocated_bytes"

_INDENT = 2
_LABEL = 32
_VALUE = 8  # '1.23s', '12.3M', '1023KiB'
BAR_WIDTH = WIDTH - _INDENT - _LABEL - 1 - 1 - _VALUE  # the largest value's bar: 36 at 80 columns


@dataclass(frozen=True)
class Metric:
    """One chart."""

    title: str  # 'self time': the heading reads 'top N by self time'
    value: Callable[[FunctionStats], float | None]  # None: not recorded for this function
    format: Callable[[float], str]  # the value as printed after the bar, at most 8 characters


def _memory(stats: FunctionStats) -> float | None:
    value = getattr(stats, MEMORY_FIELD, None)
    return None if value is None else float(value)


def _bytes(count: float) -> str:
    """'512B', '1.2KiB', '99.9MiB', '1023GiB': at most 7 characters below 10 TiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{value:.0f}{unit}" if unit == "B" or value >= 100 else f"{value:.1f}{unit}"


METRICS: tuple[Metric, ...] = (
    Metric("self time", lambda stats: stats.self_time, short_duration),
    Metric("total time", lambda stats: stats.total_time, short_duration),
    Metric("calls", lambda stats: float(stats.calls), lambda value: short_count(int(value), _VALUE)),
    Metric("memory allocated", _memory, _bytes),
)


def bar_length(value: float, largest: float, width: int = BAR_WIDTH) -> int:
    """The number of '#' for value when largest gets the full width (a
    non-zero value gets at least one)."""
    if largest <= 0 or value <= 0:
        return 0
    return max(1, min(width, int(value / largest * width + 0.5)))


def render_chart(metric: Metric, stats: Sequence[FunctionStats], *, cwd: str, top: int, style: Style) -> str:
    """One metric's chart of its top functions, or one line when it was not recorded."""
    values = [(metric.value(item), item) for item in stats]
    recorded = [(value, item) for value, item in values if value is not None]
    if not recorded:
        return f"{metric.title}: not recorded in this run\n"
    ranked = sorted((pair for pair in recorded if pair[0] > 0), key=lambda pair: (-pair[0], pair[1].label))
    ranked = ranked[:top] if top else ranked
    lines = [style(f"top {len(ranked)} by {metric.title}", "bold")]
    if not ranked:
        lines.append(" " * _INDENT + "(no function has any)")
    largest = ranked[0][0] if ranked else 0.0
    for value, item in ranked:
        label = label_for(item, cwd, _LABEL)
        filled = bar_length(value, largest)
        lines.append(f"{' ' * _INDENT}{label:<{_LABEL}} {style('#' * filled, 'cyan')}{' ' * (BAR_WIDTH - filled)} "
                     f"{metric.format(value):>{_VALUE}}")
    return "".join(line + "\n" for line in lines)


def render_charts(stats: Sequence[FunctionStats], *, cwd: str, top: int, pattern: str | None,
                  style: Style, metrics: Sequence[Metric] = METRICS) -> str:
    """Every metric's chart, a blank line between them; top 0 means all functions."""
    shown = [item for item in stats if (item.calls > 0 or item.total_time > 0)
             and (not pattern or matches(item, pattern))]
    return "\n".join(render_chart(metric, shown, cwd=cwd, top=top, style=style) for metric in metrics)
