"""``pipegauge view --timeline``: one sparkline per resource (RSS, CPU, I/O,
threads, and each GPU's utilisation and memory), 80 columns wide.

Data transforms (``series``, ``columns``) are separate from the text, so
the HTML report's charts and these lines read the timeline the same way:
levels (RSS, threads, GPU memory) are maxima and amounts (CPU, I/O, GPU
busy) become rates over each sample's length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._units import format_bytes, format_duration_ns
from ._text import WIDTH, Style

_INDENT = 2
_LABEL = 10
_SUMMARY = 16
SPARK_WIDTH = WIDTH - _INDENT - _LABEL - 1 - 1 - _SUMMARY  # 50 at 80 columns

_BLOCKS = " ▁▂▃▄▅▆▇█"
_ASCII = " .:-=+*#%@"


@dataclass(frozen=True)
class Series:
    """One resource over time: a value per sample and how to summarise it."""

    label: str  # at most _LABEL characters
    values: list[float]  # one per sample
    level: bool  # True: a level (take the max of a column); False: a rate (average)
    summary: str  # e.g. 'peak 219.3 MiB'
    floor: float = 0.0  # the scale's top is at least this (100 for percentages)


def _rate(amounts: Sequence[int], lengths: Sequence[int], scale: float) -> list[float]:
    return [amount * scale / length if length else 0.0 for amount, length in zip(amounts, lengths)]


def _short_bytes(count: float) -> str:
    return format_bytes(count).replace(" ", "")


def series(timeline: Mapping[str, Any]) -> list[Series]:
    """The rows to draw, in order."""
    dt = timeline["dt_ns"]
    rss = [float(v) for v in timeline["rss_bytes"]]
    cpu = _rate([u + s for u, s in zip(timeline["cpu_user_ns"], timeline["cpu_system_ns"])], dt, 100.0)
    io = _rate([r + w for r, w in zip(timeline["read_chars"], timeline["write_chars"])], dt, 1e9)
    threads = [float(v) for v in timeline["threads"]]
    rows = [
        Series("RSS", rss, True, f"peak {_short_bytes(max(rss, default=0))}"),
        Series("CPU %", cpu, False, f"max {max(cpu, default=0):.0f}%", 100.0),
        Series("I/O", io, False, f"max {_short_bytes(max(io, default=0))}/s"),
        Series("threads", threads, True, f"max {max(threads, default=0):.0f}"),
    ]
    for index, gpu in enumerate(timeline.get("gpus", [])):
        util = _rate(gpu["busy_ns"], dt, 100.0)
        memory = [float(v) for v in gpu["process_bytes"]]
        used = [float(v) for v in gpu["memory_bytes"]]
        busy = sum(gpu["busy_ns"])
        mean = 100.0 * busy / sum(dt) if sum(dt) else 0.0
        rows.append(Series(f"GPU{index} %", util, False, f"mean {mean:.0f}%", 100.0))
        rows.append(Series(f"GPU{index} mem", used, True, f"peak {_short_bytes(max(used, default=0))}"))
        if any(memory):
            rows.append(Series(f"GPU{index} own", memory, True,
                               f"peak {_short_bytes(max(memory))}"))
    return rows


def columns(values: Sequence[float], width: int, level: bool) -> list[float]:
    """values squeezed (or stretched) into width columns: the maximum of a
    level's samples in each column, the mean of a rate's."""
    n = len(values)
    if n == 0:
        return []
    out: list[float] = []
    for c in range(min(width, n) if n < width else width):
        start = c * n // width if n >= width else c
        end = max((c + 1) * n // width, start + 1) if n >= width else c + 1
        chunk = values[start:end]
        out.append(max(chunk) if level else sum(chunk) / len(chunk))
    return out


def sparkline(values: Sequence[float], *, ascii_only: bool = False, floor: float = 0.0) -> str:
    """One character per value, scaled from 0 to the largest value (or to
    floor when that is larger)."""
    ramp = _ASCII if ascii_only else _BLOCKS
    top = max(max(values, default=0.0), floor)
    if top <= 0:
        return ramp[1] * len(values) if values else ""
    steps = len(ramp) - 1
    return "".join(ramp[max(1, min(steps, int(v / top * steps + 0.5)))] if v > 0 else ramp[1]
                   for v in values)


def _can_encode(text: str, encoding: str | None) -> bool:
    try:
        text.encode(encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def render_timeline(timeline: Mapping[str, Any] | None, meta: Mapping[str, str], *,
                    style: Style, encoding: str | None = "utf-8",
                    describe: Callable[[float], str] = format_duration_ns) -> str:
    """The text of ``view --timeline``: a heading, one sparkline per resource,
    and the GPU status line."""
    gpu_line = f"  gpu: {meta['gpu']}\n" if "gpu" in meta else ""
    if not timeline or not timeline["t_ns"]:
        if timeline is not None:
            why = "no sample was taken"
        elif meta.get("gpu") == "none (timeline off)":
            why = "the run had --no-timeline"
        else:
            why = "not recorded in this run"
        return style("resource timeline", "bold") + f": none ({why})\n" + gpu_line
    ascii_only = not _can_encode(_BLOCKS, encoding)
    count = len(timeline["t_ns"])
    span = timeline["t_ns"][-1] + timeline["dt_ns"][-1] - timeline["t_ns"][0]
    step = timeline["interval_ns"] * timeline["stride"]
    heading = (f"resource timeline: {count} samples of {describe(step)} over {describe(span)}, "
               f"left to right")
    lines = [style(heading[:WIDTH], "bold")]
    for row in series(timeline):
        spark = sparkline(columns(row.values, SPARK_WIDTH, row.level), ascii_only=ascii_only,
                          floor=row.floor)
        lines.append(" " * _INDENT + f"{row.label:<{_LABEL}.{_LABEL}} {spark:<{SPARK_WIDTH}} "
                     + row.summary[:_SUMMARY])
    return "\n".join(lines) + "\n" + gpu_line
