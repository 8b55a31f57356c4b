"""``pipegauge view --resources`` (also chosen by a resource ``--sort`` key):
the function table with resource columns, at most 80 columns wide.

Columns: ncalls, total time, CPU time and the off-CPU share of the total
(wall - CPU; sleeping, waiting on I/O or locks), heap bytes allocated, net
bytes left alive and peak above entry (callees included), and bytes read
plus written when the run recorded I/O, and GPU busy time when it read a
GPU. A column the run did not record shows '-'."""

from __future__ import annotations

from .._stats import FunctionStats
from ._text import WIDTH, Style, fit_middle, label_for, short_duration
from .charts import _bytes
from .table import matches, ncalls_text

_NCALLS = 8


def _signed_bytes(value: int) -> str:
    return "-" + _bytes(-value) if value < 0 else _bytes(value)


def _columns(with_io: bool, with_gpu: bool = False) -> list[tuple[str, int]]:
    columns = [("cumtime", 8), ("cpu", 7), ("off%", 5), ("alloc", 8), ("net", 9), ("peak", 8)]
    if with_io:
        columns.append(("io", 8))
    if with_gpu:
        columns.append(("gpu", 7))
    return columns


def _cells(item: FunctionStats, with_io: bool, with_gpu: bool = False) -> list[str]:
    cpu, off = item.cpu_time, item.offcpu_fraction
    allocated, net, peak = item.total_allocated_bytes, item.net_bytes, item.peak_bytes
    cells = [
        short_duration(item.total_time),
        "-" if cpu is None else short_duration(cpu),
        "-" if off is None else f"{off * 100:.0f}%",
        "-" if allocated is None else _bytes(allocated),
        "-" if net is None else _signed_bytes(net),
        "-" if peak is None else _bytes(peak),
    ]
    if with_io:
        io = item.io_bytes
        cells.append("-" if io is None else _bytes(io))
    if with_gpu:
        gpu = item.gpu_time
        cells.append("-" if gpu is None else short_duration(gpu))
    return cells


def render_resources(stats: list[FunctionStats], *, cwd: str, limit: int | None,
                     pattern: str | None, style: Style) -> str:
    """stats in the given order, filtered and limited, with resource columns."""
    shown = [item for item in stats if item.calls > 0 or item.total_time > 0]
    with_io = any(item.io_bytes is not None for item in shown)
    with_gpu = any(item.gpu_time is not None for item in shown)
    if pattern:
        shown = [item for item in shown if matches(item, pattern)]
    available = len(shown)
    if limit:
        shown = shown[:limit]
    columns = _columns(with_io, with_gpu)
    ncalls = [ncalls_text(item) for item in shown]
    ncalls_width = max([_NCALLS, *(len(text) + 1 for text in ncalls)])
    label_width = WIDTH - ncalls_width - sum(width for _, width in columns) - 1
    head = (f"{'ncalls':>{ncalls_width}}" + "".join(f"{name:>{width}}" for name, width in columns)
            + " function")
    lines = [style(head, "bold")]
    if shown and all(not item.metrics for item in shown):
        lines.append(style("(this run recorded no resource metrics: run without "
                           "--no-memory/--no-cpu)", "dim"))
    for item, calls in zip(shown, ncalls):
        cells = f"{calls:>{ncalls_width}}" + "".join(
            f"{text:>{width}}" for text, (_, width) in zip(_cells(item, with_io, with_gpu), columns))
        lines.append(f"{cells} {label_for(item, cwd, label_width)}")
    if not shown:
        lines.append(fit_middle("(no functions" + (f" match {pattern!r})" if pattern else ")"), WIDTH))
    elif len(shown) < available:
        lines.append(style(f"({len(shown)} of {available} functions shown; --limit 0 shows all)", "dim"))
    return "".join(line + "\n" for line in lines)
