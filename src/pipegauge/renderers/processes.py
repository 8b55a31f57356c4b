"""The per-process table of a multi-process run (``pipegauge view --processes``)."""

from __future__ import annotations

from typing import Any

from .._units import format_duration_ns
from ._text import Style


def render_processes(processes: list[dict[str, Any]], *, style: Style) -> str:
    """pid, parent, role, state, wall time, busy time, calls: one line each,
    80 columns."""
    if not processes:
        return "one process: this run has no child processes\n"
    header = f"{'pid':>8} {'parent':>8}  {'role':<20} {'state':<9} {'wall':>9} {'busy':>9} {'calls':>10}"
    lines = [style(header, "bold")]
    for entry in processes:
        state = entry["state"]
        shown = style(f"{state:<9}", "red") if state == "lost" else f"{state:<9}"
        lines.append(
            f"{entry['pid']:>8} {entry['parent_pid']:>8}  {entry['role'][:20]:<20} {shown} "
            f"{format_duration_ns(entry['duration_ns']):>9} {format_duration_ns(entry['busy_ns']):>9} "
            f"{entry['calls']:>10,}")
    lost = sum(1 for entry in processes if entry["state"] == "lost")
    if lost:
        lines.append(f"{lost} lost: ended without a final profile (killed?); "
                     "their data up to the last flush is included")
    return "\n".join(lines) + "\n"
