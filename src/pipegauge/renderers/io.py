"""The I/O section of ``pipegauge view --io``: I/O totals per thread (the
kernel's counters next to what the I/O hooks charged to functions) and the
top functions by bytes moved. Every line fits 80 columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._stats import FunctionStats
from .._units import format_bytes
from ._text import Style, fit_middle, label_for, short_count, short_duration

WIDTH = 80

IO_METRICS = ("io.read_bytes", "io.write_bytes", "io.read_ops", "io.write_ops", "io.ns")

PROCESS = 1  # ITHR flags (docs/format.md)
AT_START = 2
EXITED = 4


def function_io(profile: Any) -> dict[int, dict[str, tuple[int, int]]]:
    """Function index -> metric name -> (exclusive, inclusive), for the io.*
    metrics the profile has; functions with no I/O are left out."""
    result: dict[int, dict[str, tuple[int, int]]] = {}
    for metric, (name, _unit, _merge) in enumerate(profile.metrics()):
        if name not in IO_METRICS:
            continue
        for func, (exclusive, inclusive) in enumerate(profile.function_metric(metric)):
            if exclusive or inclusive:
                result.setdefault(func, {})[name] = (int(exclusive), int(inclusive))
    return result


def unattributed(row: dict[str, int]) -> tuple[int, int]:
    """Read/write-family bytes the kernel saw that no function was charged
    for (clamped at 0: the two sides are read at slightly different times)."""
    return (max(0, row["rchar"] - row["hooked_read_bytes"]),
            max(0, row["wchar"] - row["hooked_write_bytes"]))


def _short_bytes(count: int) -> str:
    return format_bytes(count).replace(" ", "")


def _thread_label(row: dict[str, Any]) -> str:
    if row["flags"] & PROCESS:
        return "process"
    label = f"{row['tid']} {row['name']}".strip()
    if row["flags"] & EXITED:
        label += " (ended)"
    return label


def render_threads(rows: Sequence[dict[str, Any]], style: Style) -> str:
    """One line per thread: kernel bytes read/written (read/write-family
    calls) and syscalls, hooked bytes (read/write family + send/recv), and
    what no function was charged for."""
    head = (f"{'thread':<22}{'read':>9}{'written':>9}{'calls':>8}"
            f"{'charged r':>11}{'charged w':>11}{'unattr r':>10}")
    lines = [style("I/O per thread (kernel counters; charged = seen by the hooks)", "bold"),
             style(head, "bold")]
    for row in rows:
        unattr_read, _unattr_write = unattributed(row)
        charged_read = row["hooked_read_bytes"] + row["hooked_recv_bytes"]
        charged_write = row["hooked_write_bytes"] + row["hooked_send_bytes"]
        cells = (f"{fit_middle(_thread_label(row), 21):<22}"
                 f"{_short_bytes(row['rchar']):>9}{_short_bytes(row['wchar']):>9}"
                 f"{short_count(row['syscr'] + row['syscw']):>8}"
                 f"{_short_bytes(charged_read):>11}{_short_bytes(charged_write):>11}"
                 f"{_short_bytes(unattr_read):>10}")
        lines.append(style(cells, "bold") if row["flags"] & PROCESS else cells)
    if not rows:
        lines.append("(no per-thread I/O recorded: the run was taken with --no-io)")
    else:
        lines.append(style("read/written/calls: read- and write-family system calls only "
                           "(the kernel does", "dim"))
        lines.append(style("not count send/recv there); charged includes send/recv.", "dim"))
    return "".join(line + "\n" for line in lines)


def render_top(stats: Sequence[FunctionStats], io: dict[int, dict[str, tuple[int, int]]], *,
               cwd: str, limit: int | None, style: Style) -> str:
    """Functions by inclusive bytes read + written, with self bytes, calls
    and time inside I/O calls (inclusive)."""
    def inclusive(func: int, name: str) -> int:
        return io.get(func, {}).get(name, (0, 0))[1]

    def moved(item: FunctionStats) -> int:
        return inclusive(item.index, "io.read_bytes") + inclusive(item.index, "io.write_bytes")

    shown = sorted((item for item in stats if item.index in io and moved(item) > 0),
                   key=lambda item: (-moved(item), item.label))
    available = len(shown)
    if limit:
        shown = shown[:limit]
    columns = (("read", 9), ("written", 9), ("self r+w", 10), ("calls", 8), ("io time", 9))
    label_width = WIDTH - sum(width for _, width in columns) - 1
    head = "".join(f"{name:>{width}}" for name, width in columns) + " function"
    lines = [style("Top functions by I/O (inclusive; self = charged to the function itself)", "bold"),
             style(head, "bold")]
    for item in shown:
        values = io[item.index]
        own = sum(values.get(name, (0, 0))[0] for name in ("io.read_bytes", "io.write_bytes"))
        calls = inclusive(item.index, "io.read_ops") + inclusive(item.index, "io.write_ops")
        cells = (f"{_short_bytes(inclusive(item.index, 'io.read_bytes')):>9}"
                 f"{_short_bytes(inclusive(item.index, 'io.write_bytes')):>9}"
                 f"{_short_bytes(own):>10}{short_count(calls):>8}"
                 f"{short_duration(inclusive(item.index, 'io.ns') * 1e-9):>9}")
        lines.append(f"{cells} {label_for(item, cwd, label_width)}")
    if not shown:
        lines.append("(no function did I/O through the hooked calls)")
    elif len(shown) < available:
        lines.append(style(f"({len(shown)} of {available} functions shown; --limit 0 shows all)", "dim"))
    return "".join(line + "\n" for line in lines)


def render_io(profile: Any, stats: Sequence[FunctionStats], *, cwd: str, limit: int | None,
              style: Style) -> str:
    """Both parts of the I/O section."""
    return (render_threads(profile.thread_io(), style) + "\n"
            + render_top(stats, function_io(profile), cwd=cwd, limit=limit, style=style))
