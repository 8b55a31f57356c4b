"""``pipegauge view RUN --lines FUNC``: a function's source with its line
heat: per line the total and self time, the share of the function's
measured time, hits, and a bar; the hottest lines marked. 80 columns."""

from __future__ import annotations

from .._lineheat import FunctionHeat, Source
from .._stats import FunctionStats
from ._text import WIDTH, Style, bar, fit_middle, label_for, short_count, short_duration

_BAR = 10
HOT_LINES = 3  # lines marked as hottest (by total time)


def render_line_heat(stats: FunctionStats, heat: FunctionHeat, source: Source, *, cwd: str,
                     hits_label: str = "hits", style: Style) -> str:
    rows = {row.line: row for row in heat.rows}
    hottest = sorted(heat.rows, key=lambda row: (row.total_ns, row.self_ns), reverse=True)
    marked = {row.line for row in hottest[:HOT_LINES] if row.total_ns > 0}
    top = hottest[0].line if hottest else None
    out = [style(fit_middle(label_for(stats, cwd, WIDTH), WIDTH), "bold") + "\n"]
    summary = (f"line heat: {short_duration(heat.total_ns * 1e-9)} in measured lines, "
               f"{short_duration(heat.self_ns * 1e-9)} of it in the function itself")
    out.append(fit_middle(summary, WIDTH) + "\n")
    if heat.since_ns:
        out.append(fit_middle(f"measured from {short_duration(heat.since_ns * 1e-9)} into the run "
                              f"on (chosen by --lines-threshold then)", WIDTH) + "\n")
    header = f"  {'line':>5} {'total':>6} {'self':>6} {'share':>6} {hits_label:>6} {'':{_BAR}}  source"
    out.append(style(header, "dim") + "\n")
    for offset, text in enumerate(source.lines):
        number = source.first + offset
        row = rows.get(number)
        mark = ">" if number == top else ("*" if number in marked else " ")
        if row is None:
            numbers = f"{'':6} {'':6} {'':6} {'':6} {'':{_BAR}}"
        else:
            numbers = (f"{short_duration(row.total_ns * 1e-9):>6} "
                       f"{short_duration(row.self_ns * 1e-9):>6} "
                       f"{row.share * 100:5.1f}% {short_count(row.hits, 6):>6} {bar(row.share, _BAR)}")
        prefix = f"{mark} {number:>5} {numbers}  "
        line = prefix + fit_middle(text.rstrip().expandtabs(4), WIDTH - len(prefix))
        if number == top:
            line = style(line, "bold", "red")
        elif number in marked:
            line = style(line, "yellow")
        out.append(line.rstrip() + "\n")
    out.append(style("> hottest line, * next; share: of the function's measured total",
                     "dim") + "\n")
    return "".join(out)
