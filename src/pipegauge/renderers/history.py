"""Terminal views of the history: the run list, and trends as sparklines."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .._history import RunRecord
from .._units import format_duration_ns
from ._text import WIDTH, fit_middle

_TICKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """One character per value, from ▁ (the smallest) to █ (the largest)."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high <= low:
        return _TICKS[3] * len(values)
    scale = (len(_TICKS) - 1) / (high - low)
    return "".join(_TICKS[int(round((value - low) * scale))] for value in values)


def _when(run: RunRecord) -> str:
    return time.strftime("%m-%d %H:%M:%S", time.localtime(run.started))


def _git(run: RunRecord) -> str:
    if not run.git_commit:
        return "-"
    return run.git_commit[:7] + ("*" if run.git_dirty else "")


def render_run_list(runs: Sequence[RunRecord], baselines: dict[str, int]) -> str:
    """Newest first: id, start, duration, git, group, name, profile."""
    baseline_ids = set(baselines.values())
    lines = [f"{'run':>6}  {'started':<14} {'time':>7} {'git':<8} {'group':<8} name / profile"]
    for run in runs:
        mark = "B" if run.id in baseline_ids else " "
        group = (run.group_id or "-")[:8]
        head = (f"{mark}{'#' + str(run.id):>5}  {_when(run):<14} {format_duration_ns(run.duration_ns):>7}"
                f" {_git(run):<8} {group:<8} ")
        lines.append(head + fit_middle(run.name, WIDTH - len(head)))
        if run.profile_path:
            lines.append(" " * 8 + fit_middle(run.profile_path, WIDTH - 8))
    if len(lines) == 1:
        lines.append("no runs recorded")
    else:
        lines.append("B = the program's baseline")
    return "\n".join(lines) + "\n"


def render_trends(runs: Sequence[RunRecord], *, top: int = 5) -> str:
    """Oldest to newest: a sparkline of the run time and of the self time of
    the top functions of the newest run, with the first and last values."""
    ordered = sorted(runs, key=lambda run: (run.started, run.id))
    if not ordered:
        return "no runs recorded\n"
    programs = sorted({run.program for run in ordered})
    lines = [fit_middle(f"program: {', '.join(programs)}", WIDTH),
             f"{len(ordered)} runs, {_when(ordered[0])} .. {_when(ordered[-1])}", ""]
    spark_width = max(5, min(len(ordered), 30))  # at least the width of its title
    recent = ordered[-spark_width:]
    label_width = WIDTH - spark_width - 20

    def row(label: str, values: list[float]) -> str:
        return (f"{fit_middle(label, label_width):<{label_width}} {sparkline(values):<{spark_width}}"
                f" {format_duration_ns(values[0]):>8} {format_duration_ns(values[-1]):>8}")

    lines.append(f"{'':<{label_width}} {'trend':<{spark_width}} {'first':>8} {'last':>8}")
    lines.append(row("run time", [run.duration_ns for run in recent]))
    newest = sorted(ordered[-1].functions, key=lambda record: -record.self_ns)[:top]
    for record in newest:
        values = []
        for run in recent:
            match = next((item for item in run.functions if item.key == record.key), None)
            values.append(match.self_ns if match else 0.0)
        label = record.name if record.kind == "builtin" else f"{record.file}:{record.name}"
        lines.append(row(label, values))
    return "\n".join(lines) + "\n"
