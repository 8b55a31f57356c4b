"""The async view: asyncio tasks per coroutine function (``pipegauge view --async``)."""

from __future__ import annotations

from typing import Any

from .._units import format_duration_s
from ._text import Style, fit_middle, relative_file


def render_tasks(rows: list[dict[str, Any]], *, cwd: str, style: Style) -> str:
    """tasks, summed wall, running, awaiting and the longest task per
    coroutine function, 80 columns."""
    if not rows:
        return "no asyncio tasks recorded in this run\n"
    header = f"{'tasks':>7} {'wall':>8} {'running':>8} {'awaiting':>8} {'longest':>8}  coroutine"
    lines = [style(header, "bold")]
    for row in rows:
        where = f"{relative_file(row['file'], cwd)}:{row['line']}({row['coroutine']})"
        lines.append(f"{row['tasks']:>7} {format_duration_s(row['wall']):>8} "
                     f"{format_duration_s(row['running']):>8} {format_duration_s(row['awaiting']):>8} "
                     f"{format_duration_s(row['max_wall']):>8}  {fit_middle(where, 34)}")
    lines.append("wall: task lifetimes summed; running: the coroutine's own time in the "
                 "profile;\nawaiting: wall - running (suspended on I/O, sleeps, other tasks)")
    return "\n".join(lines) + "\n"
