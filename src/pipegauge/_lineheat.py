"""Line heat of a run as data: per-function rows, shares, and the source text
they belong to. Shared by ``view --lines``, the JSON export and the HTML
report, so the three show the same numbers.

A row is one source line of one function: ``total_ns`` is the time the line
was current in the function's frame (callees included), ``self_ns`` the part
spent in the frame itself, ``hits`` line executions (deterministic ``--lines``)
or samples (sampling mode). ``share`` is the line's total over the sum of the
function's line totals (the time the function spent in measured lines; a
recursive function's inner calls sit inside its outer lines, so shares are
relative there).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from ._errors import PipegaugeError

# Bound on the source embedded in a report: lines per function and functions.
REPORT_MAX_LINES = 400
REPORT_MAX_FUNCTIONS = 40


class _HasLineHeat(Protocol):
    meta: dict[str, str]

    def line_heat(self) -> list[tuple[int, int, int, int, int]]: ...


@dataclass(frozen=True)
class LineRow:
    line: int
    self_ns: int
    total_ns: int
    hits: int
    share: float  # total_ns / the function's summed line totals (0..1)


@dataclass
class FunctionHeat:
    func: int  # function index
    rows: list[LineRow] = field(default_factory=list)  # by line number
    since_ns: int = 0  # heat covers the run from this moment (threshold-chosen)

    @property
    def total_ns(self) -> int:
        return sum(row.total_ns for row in self.rows)

    @property
    def self_ns(self) -> int:
        return sum(row.self_ns for row in self.rows)

    @property
    def hottest(self) -> LineRow | None:
        return max(self.rows, key=lambda row: (row.total_ns, row.self_ns), default=None)


def since_map(meta: dict[str, str]) -> dict[int, int]:
    """meta "lines.since" ("func:ns,...") as {func index: ns after start}."""
    result: dict[int, int] = {}
    for item in meta.get("lines.since", "").split(","):
        func, _, ns = item.partition(":")
        if func.isdigit() and ns.isdigit():
            result[int(func)] = int(ns)
    return result


def heat_by_function(profile: _HasLineHeat) -> dict[int, FunctionHeat]:
    """Line heat grouped by function index, rows sorted by line."""
    since = since_map(profile.meta)
    grouped: dict[int, list[tuple[int, int, int, int]]] = {}
    for func, line, self_ns, total_ns, hits in profile.line_heat():
        grouped.setdefault(func, []).append((line, self_ns, total_ns, hits))
    result: dict[int, FunctionHeat] = {}
    for func, rows in grouped.items():
        denominator = sum(total for _, _, total, _ in rows) or 1
        heat = FunctionHeat(func=func, since_ns=since.get(func, 0))
        heat.rows = [LineRow(line, own, total, hits, total / denominator)
                     for line, own, total, hits in sorted(rows)]
        result[func] = heat
    return result


class SourceError(PipegaugeError):
    """The source of a function cannot be shown (missing, changed)."""


@dataclass(frozen=True)
class Source:
    file: str
    first: int  # line number of lines[0]
    lines: list[str]


def _definition_end(tree: ast.AST, first_line: int) -> int | None:
    """Last line of the function or class whose definition starts at
    first_line (its first decorator, as the code object reports it)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            starts = [node.lineno] + [d.lineno for d in node.decorator_list]
            if min(starts) == first_line:
                return node.end_lineno
    return None


def function_source(file: str, first_line: int, heat_lines: Sequence[int], *,
                    started_epoch_ns: int = 0) -> Source:
    """The source lines of a function as recorded: from its first line to its
    end (or its last measured line). SourceError when the file is missing,
    unreadable, or modified after the run started (its lines may no longer
    be the ones measured)."""
    try:
        stat = os.stat(file)
        with open(file, encoding="utf-8", errors="replace") as stream:
            text = stream.read()
    except OSError as exc:
        raise SourceError(f"cannot show the source: {file}: {exc.strerror or exc}") from None
    if started_epoch_ns and stat.st_mtime_ns > started_epoch_ns:
        raise SourceError(f"cannot show the source: {file} was modified after the run "
                          f"started, so its lines may not be the ones measured")
    all_lines = text.splitlines()
    last_heat = max(heat_lines, default=first_line)
    if last_heat > len(all_lines) or first_line > len(all_lines):
        raise SourceError(f"cannot show the source: {file} has {len(all_lines)} lines, the run "
                          f"measured line {last_heat}: the file changed since the run")
    first = max(first_line, 1)
    end: int | None = None
    try:
        end = _definition_end(ast.parse(text), first_line)
    except (SyntaxError, ValueError):
        end = None
    if end is None or end < last_heat:
        end = last_heat
    if heat_lines and min(heat_lines) < first:  # module-level code: start at its heat
        first = min(heat_lines)
    return Source(file=file, first=first, lines=all_lines[first - 1:end])


def started_epoch_ns(run_info: dict[str, Any]) -> int:
    try:
        return int(run_info.get("start_epoch_ns", 0))
    except (TypeError, ValueError):
        return 0


def report_data(profile: Any, functions: Sequence[tuple[Any, ...]], *,
                started_epoch: int = 0) -> dict[str, Any] | None:
    """Line heat for the HTML report: the hottest REPORT_MAX_FUNCTIONS
    functions with their rows and source text (at most REPORT_MAX_LINES
    lines each); None when the run has none. functions: profile.functions()
    records (name, file, first line, ...)."""
    heat = heat_by_function(profile)
    if not heat:
        return None
    ranked = sorted(heat.values(), key=lambda item: item.total_ns, reverse=True)
    entries = []
    for item in ranked[:REPORT_MAX_FUNCTIONS]:
        name, file, first_line = functions[item.func][0], functions[item.func][1], functions[item.func][2]
        entry: dict[str, Any] = {
            "func": item.func, "name": name, "file": file, "since_ns": item.since_ns,
            "rows": [[row.line, row.self_ns, row.total_ns, row.hits] for row in item.rows],
            "first": first_line, "source": None, "source_error": None,
        }
        try:
            source = function_source(file, int(first_line), [row.line for row in item.rows],
                                     started_epoch_ns=started_epoch)
            entry["first"] = source.first
            entry["source"] = source.lines[:REPORT_MAX_LINES]
        except SourceError as exc:
            entry["source_error"] = str(exc)
        entries.append(entry)
    return {"functions": entries, "omitted": max(len(ranked) - REPORT_MAX_FUNCTIONS, 0),
            "unit": "samples" if profile.meta.get("lines.mode") == "sample" else "hits"}
