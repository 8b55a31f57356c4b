"""The short report ``pipegauge run`` prints on stderr when the program ends."""

from __future__ import annotations

from .._run import Run
from .._units import format_count, format_duration_s, format_percent
from ._text import label_for

TOP = 5
WIDTH = 100


def render_summary(run: Run, *, target: str, cwd: str, write_error: str | None = None) -> str:
    overhead = run.overhead
    info = run.run_info
    lines = [
        f"pipegauge: {target}: {format_duration_s(run.duration)} wall "
        f"({run.end_reason or 'finished'}), {format_count(info.get('events', 0))} events; "
        f"profiler overhead ~{format_duration_s(overhead.estimate)} "
        f"({format_percent(overhead.fraction)} of the run, "
        + ("subtracted from times)" if overhead.corrected else "not subtracted)")
    ]
    if run.sampled:
        lines[0] = (f"pipegauge: {target}: {format_duration_s(run.duration)} wall "
                    f"({run.end_reason or 'finished'}), sampling mode: {run.sampling_text()}")
        stats = [item for item in run.stats("tottime") if item.self_time > 0][:TOP]
        if stats:
            lines.append(f"  {'~self':>7} {'~total':>7} {'samples':>10}  top {len(stats)} functions "
                         "by estimated self time")
        for item in stats:
            label = label_for(item, cwd, WIDTH - 31)
            lines.append(f"  {format_duration_s(item.self_time):>7} {format_duration_s(item.total_time):>7} "
                         f"{item.metric('samples', inclusive=False) or 0:>10}  {label}")
        stats = []
    else:
        stats = [item for item in run.stats("tottime") if item.calls > 0][:TOP]
    if stats:
        lines.append(f"  {'self':>7} {'total':>7} {'calls':>10}  top {len(stats)} functions by self time")
        for item in stats:
            label = label_for(item, cwd, WIDTH - 31)
            lines.append(f"  {format_duration_s(item.self_time):>7} {format_duration_s(item.total_time):>7} "
                         f"{item.ncalls:>10}  {label}")
    processes = run.processes
    if processes:
        lost = sum(1 for entry in processes if entry["state"] == "lost")
        running = sum(1 for entry in processes if entry["state"] == "running")
        lines.append(f"pipegauge: {len(processes)} processes merged ({lost} lost, {running} still "
                     f"running); per process: pipegauge view RUN --processes")
    if run.path is not None and not write_error:  # a write error was already reported
        lines.append(f"pipegauge: run saved to {run.path}  (pipegauge view {run.path})")
    return "".join(line + "\n" for line in lines)
