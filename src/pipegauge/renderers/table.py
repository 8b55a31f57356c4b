"""``pipegauge view`` (``--flat``): a pstats-like table with latency
percentiles, at most 80 columns wide.

To leave the function name room in 80 columns the table drops pstats' two
percall columns: per-call times are the p50/p95/max columns (of inclusive
time per call), and ``pipegauge export --format pstats`` gives pstats' own
layout."""

from __future__ import annotations

import fnmatch

from .._stats import FunctionStats
from ._text import WIDTH, Style, bar, fit_middle, label_for, short_count, short_duration

_BAR = 4
_NCALLS = 8  # at least; wider when a 'calls/primitive' needs it (at most 2 x 7 + 1)
# (heading, width): a time is at most 6 characters (short_duration), a heading 7
_COLUMNS = (("tottime", 8), ("cumtime", 8), ("p50", 7), ("p95", 7), ("max", 7))


def matches(stats: FunctionStats, pattern: str) -> bool:
    """--filter: a glob (if it has *?[) or a case-insensitive substring of the label."""
    label = stats.label.lower()
    needle = pattern.lower()
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(label, needle) or fnmatch.fnmatchcase(stats.name.lower(), needle)
    return needle in label


def ncalls_text(stats: FunctionStats) -> str:
    """pstats' ncalls ('calls' or 'calls/primitive'), each part shortened
    ('12.3M') when it has more than 7 digits."""
    if stats.recursive:
        return f"{short_count(stats.calls)}/{short_count(stats.primitive_calls)}"
    return short_count(stats.calls)


_SAMPLE_COLUMNS = (("~self", 8), ("~total", 8))


def _select(shown: list[FunctionStats], pattern: str | None,
            limit: int | None) -> tuple[list[FunctionStats], int, float]:
    """(rows to show, rows matching before the limit, total self time of
    every row: shares are of the whole run, not of the filtered rows)."""
    total_self = sum(item.self_time for item in shown) or 1.0
    if pattern:
        shown = [item for item in shown if matches(item, pattern)]
    return (shown[:limit] if limit else shown), len(shown), total_self


def _row(cells: str, share: float, label: str, style: Style) -> str:
    hot = ("red",) if share >= 0.10 else ("yellow",) if share >= 0.03 else ()
    return f"{style(cells, *hot)} {style(bar(share, _BAR), *hot)} {label}"


def _finish(lines: list[str], shown: int, available: int, pattern: str | None, style: Style) -> str:
    if not shown:
        lines.append(fit_middle("(no functions" + (f" match {pattern!r})" if pattern else ")"), WIDTH))
    elif shown < available:
        lines.append(style(f"({shown} of {available} functions shown; --limit 0 shows all)", "dim"))
    return "".join(line + "\n" for line in lines)


def render_sampled_table(stats: list[FunctionStats], *, cwd: str, limit: int | None,
                         pattern: str | None, style: Style) -> str:
    """The table of a sampling-mode run: samples and estimated times, no
    call counts or per-call percentiles (they were not measured)."""
    shown, available, total_self = _select([item for item in stats if item.total_time > 0],
                                           pattern, limit)
    label_width = WIDTH - _NCALLS - sum(width for _, width in _SAMPLE_COLUMNS) - 1 - _BAR - 1
    head = (f"{'samples':>{_NCALLS}}" + "".join(f"{name:>{width}}" for name, width in _SAMPLE_COLUMNS)
            + f" {'share':<{_BAR}} function")
    lines = [style(head, "bold")]
    for item in shown:
        samples = short_count(item.metric("samples", inclusive=False) or 0)
        cells = f"{samples:>{_NCALLS}}" + "".join(
            f"{short_duration(value):>{width}}"
            for value, (_, width) in zip((item.self_time, item.total_time), _SAMPLE_COLUMNS))
        lines.append(_row(cells, item.self_time / total_self, label_for(item, cwd, label_width), style))
    return _finish(lines, len(shown), available, pattern, style)


def render_table(stats: list[FunctionStats], *, cwd: str, limit: int | None,
                 pattern: str | None, style: Style) -> str:
    """stats in the given order, filtered and limited."""
    shown, available, total_self = _select(
        [item for item in stats if item.calls > 0 or item.total_time > 0], pattern, limit)
    ncalls = [ncalls_text(item) for item in shown]
    ncalls_width = max([_NCALLS, *(len(text) + 1 for text in ncalls)])  # label: 29 at the least
    label_width = WIDTH - ncalls_width - sum(width for _, width in _COLUMNS) - 1 - _BAR - 1
    head = (f"{'ncalls':>{ncalls_width}}" + "".join(f"{name:>{width}}" for name, width in _COLUMNS)
            + f" {'share':<{_BAR}} function")
    lines = [style(head, "bold")]
    for item, calls in zip(shown, ncalls):
        times = (item.self_time, item.total_time, item.p50, item.p95, item.max)
        cells = f"{calls:>{ncalls_width}}" + "".join(f"{short_duration(value):>{width}}"
                                                     for value, (_, width) in zip(times, _COLUMNS))
        lines.append(_row(cells, item.self_time / total_self, label_for(item, cwd, label_width), style))
    return _finish(lines, len(shown), available, pattern, style)
