"""The header ``pipegauge view`` prints above the table or tree: one row per
fact, wrapped so that no line is wider than 80 columns."""

from __future__ import annotations

import json
import shlex
import textwrap

from .._run import Run
from .._units import format_bytes, format_count, format_duration_s, format_percent
from ._text import WIDTH, Style

_KEY = 9  # the key column: 'overhead ' and the like


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _program(meta: dict[str, str]) -> str:
    try:
        argv = json.loads(meta.get("argv", "[]"))
        if isinstance(argv, list) and argv:
            return shlex.join(str(arg) for arg in argv)
    except ValueError:
        pass
    return meta.get("name", "?")


def _process_rows(info: dict[str, float]) -> list[tuple[str, str]]:
    """Process CPU and peak RSS, when the run recorded them."""
    if "cpu_ns" not in info:
        return []
    text = (f"{format_duration_s(info['cpu_ns'] * 1e-9)} CPU "
            f"({format_duration_s(info.get('cpu_user_ns', 0.0) * 1e-9)} user, "
            f"{format_duration_s(info.get('cpu_sys_ns', 0.0) * 1e-9)} system)")
    if "peak_rss" in info:
        text += f", peak RSS {format_bytes(info['peak_rss'])}"
    return [("process", text)]


def render_header(run: Run, *, corrected: bool, style: Style) -> str:
    meta = run.meta
    info = run.run_info
    overhead = run.overhead
    profile = run.profile
    assert profile is not None  # run_info raised otherwise
    rows = [
        ("program", _program(meta)),
        ("run", f"{run.name!r}, ended: {run.end_reason or 'unknown'}"),
        ("started", f"{meta.get('start_time', '?')} on {meta.get('host', '?')}, "
                    f"Python {meta.get('python', '?')}, {meta.get('backend', '?')}"),
        ("duration", f"{format_duration_s(run.duration)} wall, {format_count(info.get('events', 0))} events, "
                     f"{_plural(int(info.get('threads', 0)), 'thread')}, "
                     f"{_plural(profile.function_count, 'function')}"),
        ("overhead", f"~{format_duration_s(overhead.estimate)} estimated ({format_percent(overhead.fraction)} "
                     f"of the run, {overhead.event_cost_ns:.0f} ns/event)"),
        ("profiler", f"memory {format_bytes(overhead.profiler_memory)}"),
        *_process_rows(info),
        ("times", "corrected for the profiler's overhead (--no-correct shows raw times)" if corrected
                  else "raw, not corrected for the profiler's overhead"),
    ]
    if run.sampled:
        rows[3] = ("duration", f"{format_duration_s(run.duration)} wall, "
                               f"{_plural(int(info.get('threads', 0)), 'thread')} sampled, "
                               f"{_plural(profile.function_count, 'function')}")
        rows[4] = ("sampling", f"{run.sampling_text()}; no profile hook, call counts not measured")
        rows[-1] = ("times", "estimated: samples x sampling period (sampling mode)")
    processes = run.processes
    if processes:
        gone = sum(1 for entry in processes if entry["state"] == "lost")
        rows.insert(4, ("children", f"{len(processes) - 1} processes merged into main pid "
                                    f"{processes[0]['pid']} ({gone} lost); --processes lists them, "
                                    "--pid PID shows one"))
        if gone:
            rows.append(("warning", f"{gone} lost process{'' if gone == 1 else 'es'} (killed?): only "
                                    "data up to the last flush is included"))
    lost = int(info.get("lost_events", 0))
    unmatched = int(info.get("unmatched_events", 0))
    if lost or unmatched:
        rows.append(("warning", f"{lost:,} events lost, {unmatched:,} unmatched: counts may be incomplete"))
    lines = []
    for key, value in rows:
        colour = ("yellow",) if key == "warning" else ()
        wrapped = textwrap.wrap(value, WIDTH - _KEY, break_on_hyphens=False) or [""]
        lines.append(style(f"{key:<{_KEY}}", "bold") + style(wrapped[0], *colour))
        lines.extend(" " * _KEY + style(part, *colour) for part in wrapped[1:])
    return "".join(line + "\n" for line in lines) + "\n"
