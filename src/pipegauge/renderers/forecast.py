"""The forecast table of ``pipegauge scale`` / ``pipegauge forecast``, 80 columns.

Rows are functions by forecast self time at the target size, with the
chosen class, its confidence, the prediction interval, and the share of
the time now (at the largest measured size) and at the target; then the
run's time and peak memory, and the functions whose share grows. Pipeline
stages follow in a table of their own (own time; shares among the stages),
labelled ``[stage] NAME``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from .._forecast import LEVEL, Fit, Forecast, FunctionForecast
from .._stats import FunctionStats
from .._units import format_bytes, short_size
from ._text import WIDTH, Style, fit_middle, label_for, short_count, short_duration


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%" if fraction >= 0.005 or fraction == 0 else "<1%"


def _stats_of(item: FunctionForecast) -> FunctionStats:
    """Enough of a FunctionStats for label_for."""
    return FunctionStats(name=item.name, file=item.file, line=item.line, kind=item.kind,
                         calls=0, primitive_calls=0, exceptions=0, self_time=0.0,
                         total_time=0.0, min=0.0, mean=0.0, p50=0.0, p95=0.0, p99=0.0, max=0.0)


def _short_name(item: FunctionForecast) -> str:
    return item.name if item.kind == "python" else item.label


def _label(item: FunctionForecast, cwd: str, width: int) -> str:
    if item.kind == "stage":
        return fit_middle(item.label, width)
    return label_for(_stats_of(item), cwd, width)


def _run_lines(title: str, fit: Fit, target: float, formatter: Callable[[float], str]) -> list[str]:
    if fit.cls == "none":
        text = f"{title} {formatter(fit.now)} at the measured size (no model: one size)"
    elif fit.method == "sum":
        text = (f"{title} {formatter(fit.now)} now -> {formatter(fit.forecast)} at "
                f"n={short_size(target)} (the functions' forecasts added up; the largest "
                f"grows as {fit.cls}), {LEVEL:.0%} interval {formatter(fit.low)}-{formatter(fit.high)}")
    else:
        text = (f"{title} {formatter(fit.now)} now -> {formatter(fit.forecast)} at "
                f"n={short_size(target)}, {fit.cls} (confidence {fit.confidence:.0%}), "
                f"{LEVEL:.0%} interval {formatter(fit.low)}-{formatter(fit.high)}")
    return textwrap.wrap(text, WIDTH, subsequent_indent=" " * (len(title) + 1))


def _head(forecast: Forecast, style: Style) -> list[str]:
    sizes = ", ".join(short_size(size) for size in forecast.sizes)
    text = (f"pipegauge forecast: measured at n = {sizes} ({len(forecast.runs)} run{'s' if len(forecast.runs) != 1 else ''}) "
            f"-> n = {short_size(forecast.target)}")
    lines = [style(line, "bold") for line in textwrap.wrap(text, WIDTH, subsequent_indent="  ")]
    lines.extend(_run_lines("run time:   ", forecast.total_time, forecast.target, short_duration))
    if forecast.peak_memory is not None:
        lines.extend(_run_lines("peak memory:", forecast.peak_memory, forecast.target, format_bytes))
    return lines


def _fitted_table(forecast: Forecast, cwd: str, limit: int | None, style: Style,
                  items: list[FunctionForecast] | None = None, noun: str = "function") -> list[str]:
    items = forecast.functions if items is None else items
    target = short_size(forecast.target)
    head = (f"{'now':>6} {'at ' + target:>7} {f'{LEVEL:.0%} interval':>13} {'class':>10} "
            f"{'conf':>4} {'share':>9}  {noun}")
    label_width = WIDTH - len(head) + len(noun)
    lines = [style(head, "bold")]
    shown = items[:limit] if limit else items
    for item in shown:
        fit = item.time
        interval = f"{short_duration(fit.low)}-{short_duration(fit.high)}"
        share = f"{_percent(item.share_now)}>{_percent(item.share_target)}"
        cells = (f"{short_duration(fit.now):>6} {short_duration(fit.forecast):>7} {interval:>13} "
                 f"{fit.cls:>10} {fit.confidence:>4.0%} {share:>9}")
        hot = ("red",) if item.grows else ()
        mark = "!" if item.grows else " "
        lines.append(f"{style(cells, *hot)}{mark} {_label(item, cwd, label_width)}")
    if len(shown) < len(items):
        lines.append(style(f"({len(shown)} of {len(items)} {noun}s shown; "
                           "--limit 0 shows all)", "dim"))
    growing = [item for item in items if item.grows]
    if growing:
        lines.append("")
        lines.append(style("growing share of the time (!):", "bold"))
        for item in growing:
            lines.append(fit_middle(
                f"  {_short_name(item)}: {_percent(item.share_now)} of time now, "
                f"{_percent(item.share_target)} at n={target} ({item.time.cls})", WIDTH))
    return lines


def _single_size_table(forecast: Forecast, cwd: str, limit: int | None, style: Style,
                       items: list[FunctionForecast] | None = None,
                       noun: str = "function") -> list[str]:
    items = forecast.functions if items is None else items
    target = short_size(forecast.target)
    count, time = ("records", "own time") if noun == "stage" else ("calls", "self time")
    head = f"{count + ' now':>10} {'at ' + target:>12} {time:>10}  {noun}"
    label_width = WIDTH - len(head) + len(noun)
    lines = [style(head, "bold")]
    shown = items[:limit] if limit else items
    for item in shown:
        calls = item.fits[count]
        lines.append(f"{short_count(int(calls.now), 10):>10} {short_count(int(calls.forecast), 12):>12} "
                     f"{short_duration(item.time.now):>10}  {_label(item, cwd, label_width)}")
    if len(shown) < len(items):
        lines.append(style(f"({len(shown)} of {len(items)} {noun}s shown; "
                           "--limit 0 shows all)", "dim"))
    return lines


def render_forecast(forecast: Forecast, *, cwd: str, limit: int | None = 20,
                    style: Style | None = None) -> str:
    style = style or Style(False)
    lines = _head(forecast, style)
    if forecast.note:
        lines.extend(textwrap.wrap(forecast.note, WIDTH))
    lines.append("")
    table = _fitted_table if forecast.fitted else _single_size_table
    lines.extend(table(forecast, cwd, limit, style))
    if forecast.stages:
        lines.append("")
        lines.append(style("pipeline stages (own time; shares among the stages):", "bold"))
        lines.extend(table(forecast, cwd, limit, style, forecast.stages, "stage"))
    return "".join(line + "\n" for line in lines)
