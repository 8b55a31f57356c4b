"""``pipegauge view``: a pstats-like table with latency percentiles, 100 columns wide."""

from __future__ import annotations

import fnmatch

from .._stats import FunctionStats
from .._units import format_duration_s
from ._text import Style, bar, label_for

WIDTH = 100
_BAR = 6
_TIME = 8  # width of a time column: a space and up to 7 characters
# ncalls, seven time columns, the bar, then the label takes the rest
_FIXED = 9 + 7 * _TIME + 1 + _BAR + 1
LABEL_WIDTH = WIDTH - _FIXED


def matches(stats: FunctionStats, pattern: str) -> bool:
    """--filter: a glob (if it has *?[) or a case-insensitive substring of the label."""
    label = stats.label.lower()
    needle = pattern.lower()
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(label, needle) or fnmatch.fnmatchcase(stats.name.lower(), needle)
    return needle in label


def _per_call(total: float, calls: int) -> str:
    return format_duration_s(total / calls) if calls else "-"


def render_table(stats: list[FunctionStats], *, cwd: str, limit: int | None,
                 pattern: str | None, style: Style) -> str:
    """stats in the given order, filtered and limited."""
    shown = [item for item in stats if item.calls > 0 or item.total_time > 0]
    total_self = sum(item.self_time for item in shown) or 1.0
    if pattern:
        shown = [item for item in shown if matches(item, pattern)]
    available = len(shown)
    if limit:
        shown = shown[:limit]
    names = ("tottime", "percall", "cumtime", "percall", "p50", "p95", "max")
    head = f"{'ncalls':>9}" + "".join(f"{name:>{_TIME}}" for name in names) + f" {'share':<{_BAR}} function"
    lines = [style(head, "bold")]
    for item in shown:
        share = item.self_time / total_self
        hot = ("red",) if share >= 0.10 else ("yellow",) if share >= 0.03 else ()
        times = (item.self_time, None, item.total_time, None, item.p50, item.p95, item.max)
        per_call = (_per_call(item.self_time, item.calls), _per_call(item.total_time, item.primitive_calls))
        texts = [format_duration_s(value) if value is not None else per_call[0 if index == 1 else 1]
                 for index, value in enumerate(times)]
        cells = f"{item.ncalls:>9}" + "".join(f"{text:>{_TIME}}" for text in texts)
        lines.append(f"{style(cells, *hot)} {style(bar(share, _BAR), *hot)} "
                     f"{label_for(item, cwd, LABEL_WIDTH)}")
    if not shown:
        lines.append("(no functions" + (f" match {pattern!r})" if pattern else ")"))
    elif len(shown) < available:
        lines.append(style(f"({len(shown)} of {available} functions shown; --limit 0 shows all)", "dim"))
    return "".join(line + "\n" for line in lines)
