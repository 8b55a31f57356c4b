"""``pipegauge view --findings``: what to change, best first, in 80 columns."""

from __future__ import annotations

import textwrap

from .._findings import Finding, Findings
from ._text import WIDTH, Style, fit_middle, relative_file, short_count, short_duration

_INDENT = "   "


def _wrap(label: str, text: str) -> list[str]:
    first = f"{_INDENT}{label}"
    return textwrap.wrap(text, width=WIDTH - 1, initial_indent=first,
                         subsequent_indent=_INDENT + " " * len(label), break_on_hyphens=False) or [first]


def _evidence(finding: Finding, sampled: bool) -> str:
    if finding.rule == "dead-code":
        return "0 calls in this run"
    parts = [f"{100 * finding.share:.1f}% of run",
             f"total {short_duration(finding.total_time)}",
             f"self {short_duration(finding.self_time)}"]
    if not sampled:  # a sampled run has no call counts
        parts.append(f"{short_count(finding.calls)} call{'s' if finding.calls != 1 else ''}")
    return ", ".join(parts)


def _heat(finding: Finding) -> str:
    return ", ".join(f"line {line} {short_duration(total)} ({short_count(hits)} hits)"
                     for line, _own, total, hits in finding.lines)


def _finding_lines(finding: Finding, cwd: str, style: Style, sampled: bool) -> list[str]:
    number = f"{finding.rank}. "
    where = fit_middle(f"{relative_file(finding.file, cwd)}:{finding.line}",
                       WIDTH - 1 - len(number) - len(finding.rule) - 2)
    head = f"{number}{style(where, 'bold')}  {style(finding.rule, 'yellow')}"
    out = [head, fit_middle(f"{_INDENT}{finding.function}: {finding.title}", WIDTH - 1)]
    stake = "" if finding.rule == "dead-code" else f"; at stake {short_duration(finding.impact)}"
    out += _wrap("", _evidence(finding, sampled) + stake)
    if finding.lines:
        out += _wrap("heat: ", _heat(finding))
    out += _wrap("seen: ", finding.detail)
    out += _wrap("why:  ", finding.why)
    if finding.suggestion:
        out += _wrap("try:  ", finding.suggestion)
    return out


def render_findings(result: Findings, *, cwd: str, style: Style, limit: int | None = None) -> str:
    """The findings as text; every line fits 80 columns."""
    total = len(result.findings)
    shown = result.findings if not limit else result.findings[:limit]
    notes = [f"{result.analysed} functions analysed"]
    if result.skipped_files:
        notes.append(f"{result.skipped_files} files skipped (unreadable)")
    if result.unlocated:
        notes.append(f"{result.unlocated} functions not found in their source")
    notes.append("line heat used" if result.line_heat else "no line heat")
    if result.sampled:
        notes.append("sampled run: no call counts, no dead-code check")
    lines = [style(f"Findings: {total}, ranked by time at stake", "bold")]
    lines += textwrap.wrap("; ".join(notes), width=WIDTH - 1)
    if not total:
        lines.append("Nothing to report: no function above "
                     f"{100 * result.settings.min_share:g}% of the run matches a rule.")
    for finding in shown:
        lines.append("")
        lines += _finding_lines(finding, cwd, style, result.sampled)
    if len(shown) < total:
        lines += ["", f"... {total - len(shown)} more (--limit 0 shows all)"]
    return "\n".join(lines) + "\n"
