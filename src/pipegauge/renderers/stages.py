"""``pipegauge view --stages``: the stage table, per-record latency and
resources, the pipeline diagram and the bottleneck verdict, in 80 columns."""

from __future__ import annotations

import textwrap

from .._stage_report import StageReport, StageStats
from ._text import WIDTH, Style, fit_middle, short_count, short_duration

_NAME = 12
# (heading, width) of each table; with the name and separators: 80 columns
_FLOW = (("calls", 5), ("in", 7), ("out", 7), ("out/in", 6), ("own", 6), ("upstrm", 6),
         ("susp", 6), ("own r/s", 8), ("wall r/s", 8))
_DETAIL = (("p50", 6), ("p95", 6), ("p99", 6), ("max", 6), ("cpu", 6), ("alloc", 7),
           ("io read", 7), ("io write", 8), ("exc", 5))


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return short_count(int(value + 0.5), 7) if value >= 10 else f"{value:.2g}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _latency(stage: StageStats, key: str) -> str:
    value = stage.latency.get(key)
    return short_duration(value * 1e-9) if value is not None else "-"


def _io(value: float | None) -> str:
    """Bytes in at most 7 characters ('512B', '1.5KiB', '1020MiB'); '-' when
    not measured."""
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return (f"{value:.3g}" if value < 99.95 else f"{value:.0f}") + unit


def _row(name: str, cells: list[str], widths: tuple[tuple[str, int], ...]) -> str:
    parts = [fit_middle(name, _NAME).ljust(_NAME)]
    parts += [cell.rjust(width) for cell, (_, width) in zip(cells, widths)]
    return " ".join(parts).rstrip()


def _flow_cells(stage: StageStats) -> list[str]:
    has_records = bool(stage.records_in or stage.records_out)
    return [
        short_count(stage.invocations, 5),
        short_count(stage.records_in, 7) if has_records else "-",
        short_count(stage.records_out, 7) if has_records else "-",
        _ratio(stage.filter_ratio),
        short_duration(stage.own),
        short_duration(stage.upstream) if stage.upstream else "-",
        short_duration(stage.suspended) if stage.suspended else "-",
        _rate(stage.throughput_own),
        _rate(stage.throughput_wall),
    ]


def _detail_cells(stage: StageStats) -> list[str]:
    return [
        _latency(stage, "p50_ns"), _latency(stage, "p95_ns"), _latency(stage, "p99_ns"),
        _latency(stage, "max_ns"),
        short_duration(stage.cpu) if stage.cpu is not None else "-",
        _io(stage.memory), _io(stage.io_read), _io(stage.io_write),
        short_count(stage.exceptions, 5),
    ]


def _heading(widths: tuple[tuple[str, int], ...], first: str) -> str:
    return _row(first, [heading for heading, _ in widths], widths)


def render_stages(report: StageReport, *, style: Style) -> str:
    """The stages section of ``pipegauge view``; a one-line note when the run
    has none."""
    if not report.stages:
        return ("no pipeline stages: declare them with @pipegauge.stage(\"name\") "
                "(the entry function's callees were all below 1% of the run)\n")
    lines = []
    title = "pipeline stages (auto: the entry function's direct callees)" if report.auto \
        else "pipeline stages"
    lines.append(style(title, "bold"))
    lines.append(style(_heading(_FLOW, "stage"), "dim"))
    bottleneck = report.bottleneck.stage if report.bottleneck else None
    for stage in report.stages:
        row = _row(stage.name, _flow_cells(stage), _FLOW)
        lines.append(style(row, "yellow") if stage.name == bottleneck else row)
    lines.append(style("own: active time less upstream waits and nested stages; upstrm: "
                       "inside upstream", "dim"))
    lines.append(style("stages' next(); susp: suspended at a yield or await; r/s: records "
                       "per second", "dim"))
    lines.append("")
    lines.append(style(_heading(_DETAIL, "per record"), "dim"))
    for stage in report.stages:
        lines.append(_row(stage.name, _detail_cells(stage), _DETAIL))
    lines.append(style("alloc: heap bytes allocated in its own activations, nested stages "
                       "excluded", "dim"))
    lines.append(style("(-: not measured, e.g. --no-memory)", "dim"))
    lines.append("")
    diagram = report.diagram()
    for line in textwrap.wrap(diagram, WIDTH, break_long_words=True, subsequent_indent="  "):
        lines.append(line)
    if report.bottleneck is not None:
        for line in textwrap.wrap(report.bottleneck.text, WIDTH, subsequent_indent="  "):
            lines.append(style(line, "bold"))
    log = report.log
    if log.get("coalesced") or log.get("spans_dropped"):
        lines.append(style(f"span log: coalesced {log.get('coalesced', 0)} times, "
                           f"{log.get('spans_dropped', 0)} spans dropped", "dim"))
    return "\n".join(lines) + "\n"
