"""Findings: what to change, from the measurements and the source.

The functions (and declared stages) that matter by measurement are located
in their source files by the file and first line the profile recorded,
checked with the rules of ``_findings_rules``, and every match becomes a
finding with its measured evidence: the function's share of the run, its
self and total time and calls, and the heat of the flagged lines when the
profile has line heat (``Profile.line_heat()``). Findings are ranked by the
time at stake, never by the pattern alone, so a pattern in a cold function is
not reported at all. Files that cannot be read or parsed are skipped and
counted.

Shared by ``pipegauge view --findings``, the JSON export, summary.json and
the HTML report.
"""

from __future__ import annotations

import ast
import json
import os
import re
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _core
from ._findings_rules import RULES, Context, Match, check_function, module_aliases, module_lists
from ._stats import NS, FunctionStats

DEFAULT_MIN_SHARE = 0.02
"""A function is analysed when its total time is at least this share of the run."""
DEFAULT_DOMINANCE = 0.30
"""A function or declared stage above this share of the run gets a finding
even when no pattern matches."""
DEFAULT_COMPLEXITY = 15
"""McCabe complexity above this is reported (in functions analysed)."""
DEFAULT_PER_RECORD_CALLS = 100
"""A function called at least this often runs per record."""
WRAPPER_SHARE = 0.8
"""A function whose single heaviest callee holds this share of its time is
a wrapper: the callee, not it, is the place to look."""
ORCHESTRATOR_OWN = 0.1
"""A function spending less than this share of its time in its own code
only dispatches to its callees."""
_HOT_LINES = 3  # lines of heat shown as evidence


@dataclass(frozen=True)
class Settings:
    """Thresholds of the analysis (shares are fractions of the run)."""

    min_share: float = DEFAULT_MIN_SHARE
    dominance: float = DEFAULT_DOMINANCE
    complexity: int = DEFAULT_COMPLEXITY
    per_record_calls: int = DEFAULT_PER_RECORD_CALLS

    def to_json(self) -> dict[str, Any]:
        return {"min_share": self.min_share, "dominance": self.dominance,
                "complexity": self.complexity, "per_record_calls": self.per_record_calls}


@dataclass
class Finding:
    """One thing to change, with the measurements that make it worth it."""

    rule: str
    title: str
    file: str
    line: int
    function: str  # qualified name, or "stage NAME"
    function_index: int | None  # row in the profile's function table
    impact: float  # seconds at stake: the flagged lines' heat, else the function's time
    share: float  # the function's (or stage's) total time / run
    self_time: float
    total_time: float
    calls: int
    detail: str  # what was seen
    why: str
    suggestion: str
    lines: list[tuple[int, float, float, int]] = field(default_factory=list)  # line, self s, total s, hits
    first: int = 0  # flagged span
    last: int = 0
    rank: int = 0

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def to_json(self, duration: float, sampled: bool = False) -> dict[str, Any]:
        return {
            "rank": self.rank, "rule": self.rule, "title": self.title, "file": self.file,
            "line": self.line, "first_line": self.first or self.line,
            "last_line": self.last or self.line, "function": self.function,
            "function_index": self.function_index,
            "evidence": {
                "impact_s": self.impact,
                "impact_share": self.impact / duration if duration > 0 else 0.0,
                "share": self.share, "self_s": self.self_time, "total_s": self.total_time,
                "calls": None if sampled else self.calls,  # sampling measures no calls
                "lines": [{"line": line, "self_s": own, "total_s": total, "hits": hits}
                          for line, own, total, hits in self.lines],
            },
            "detail": self.detail, "why": self.why, "suggestion": self.suggestion,
        }


@dataclass
class Findings:
    """The findings of a run, best first, and what the analysis covered."""

    findings: list[Finding]
    duration: float  # run wall time, seconds
    analysed: int  # functions analysed (above min_share and located)
    skipped_files: int  # files that could not be read or parsed
    unlocated: int  # hot functions not found at their recorded line
    line_heat: bool  # the profile had line heat
    settings: Settings
    sampled: bool = False  # sampling mode: calls not measured (they read 0)

    def to_json(self) -> list[dict[str, Any]]:
        return [finding.to_json(self.duration, self.sampled) for finding in self.findings]

    def meta_json(self) -> dict[str, Any]:
        return {"analysed_functions": self.analysed, "skipped_files": self.skipped_files,
                "unlocated_functions": self.unlocated, "line_heat": self.line_heat,
                "sampled": self.sampled, "settings": self.settings.to_json()}


# -- source files -------------------------------------------------------------
class _Sources:
    """Parsed source files by path; unreadable ones are remembered and counted."""

    def __init__(self, base: str | None) -> None:
        self.base = base  # directory relative paths in the profile are relative to
        self.trees: dict[str, tuple[ast.Module, dict[int, ast.AST]] | None] = {}
        self.facts: dict[str, tuple[dict[str, str], frozenset[str]]] = {}

    def path(self, file: str) -> str:
        if self.base and not os.path.isabs(file):
            return os.path.join(self.base, file)
        return file

    def get(self, file: str) -> tuple[ast.Module, dict[int, ast.AST]] | None:
        if file not in self.trees:
            self.trees[file] = _parse(self.path(file))
        return self.trees[file]

    def module_facts(self, file: str, tree: ast.Module) -> tuple[dict[str, str], frozenset[str]]:
        """(import aliases, list-valued globals) of a parsed file, computed once."""
        if file not in self.facts:
            self.facts[file] = (module_aliases(tree), module_lists(tree))
        return self.facts[file]

    @property
    def skipped(self) -> int:
        return sum(1 for value in self.trees.values() if value is None)


def _parse(path: str) -> tuple[ast.Module, dict[int, ast.AST]] | None:
    """(module, {first line as the profile records it: function node}), or
    None when the file cannot be read or parsed (missing, generated,
    ``<string>``, a syntax error, not text)."""
    if not path or path.startswith("<") or not os.path.isfile(path):
        return None
    try:
        with tokenize.open(path) as stream:
            source = stream.read()
        tree = ast.parse(source, filename=path)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return None
    by_line: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            by_line.setdefault(first_line(node), node)
            by_line.setdefault(node.lineno, node)
    return tree, by_line


def first_line(node: ast.AST) -> int:
    """co_firstlineno of a function: its first decorator's line, else the def's."""
    decorators = getattr(node, "decorator_list", [])
    return min([d.lineno for d in decorators] + [node.lineno])  # type: ignore[attr-defined]


# -- measurements -------------------------------------------------------------
@dataclass
class _Measured:
    """What the profile says, indexed for the rules."""

    stats: list[FunctionStats]  # by function index
    duration_ns: float
    heat: dict[int, dict[int, tuple[float, float, int]]]  # func -> line -> (self ns, total ns, hits)
    has_heat: bool
    callees: dict[int, list[tuple[int, float]]]  # caller -> [(callee, total ns)], heaviest first
    sampled: bool  # sampling mode: calls are unknown


def _line_heat(profile: Any) -> tuple[dict[int, dict[int, tuple[float, float, int]]], bool]:
    """Line heat when the profile records it (``Profile.line_heat()``)."""
    method = getattr(profile, "line_heat", None)
    if method is None:
        return {}, False
    try:
        rows = method()
    except Exception:  # a profile without the section, or an older engine
        return {}, False
    heat: dict[int, dict[int, tuple[float, float, int]]] = {}
    for row in rows or ():
        func, line, own, total, hits = row[:5]
        heat.setdefault(int(func), {})[int(line)] = (float(own), float(total), int(hits))
    return heat, bool(heat)


def _measure(profile: _core.Profile, correct: bool) -> _Measured:
    records = profile.functions(correct)
    stats = [FunctionStats.from_record(index, record) for index, record in enumerate(records)]
    callees: dict[int, list[tuple[int, float]]] = {}
    for caller, callee, _calls, _primitive, _own, total in profile.edges(correct):
        if int(caller) >= 0 and int(callee) != int(caller):
            callees.setdefault(int(caller), []).append((int(callee), float(total)))
    for items in callees.values():
        items.sort(key=lambda item: -item[1])
    heat, has_heat = _line_heat(profile)
    try:
        options = json.loads(profile.meta.get("options", "{}"))
    except ValueError:
        options = {}
    sampled = profile.meta.get("mode") == "sample" or (isinstance(options, dict)
                                                        and options.get("mode") == "sample")
    return _Measured(stats=stats, duration_ns=float(profile.run.get("duration_ns", 0.0)),
                     heat=heat, has_heat=has_heat, callees=callees, sampled=sampled)


def _span_heat(measured: _Measured, func: int, first: int, last: int
               ) -> tuple[float, list[tuple[int, float, float, int]]] | None:
    """(seconds spent on lines first..last, the hottest of them) from line
    heat; None when the function has no line heat."""
    lines = measured.heat.get(func)
    if not lines:
        return None
    inside = [(line, own * NS, total * NS, hits) for line, (own, total, hits) in lines.items()
              if first <= line <= last]
    inside.sort(key=lambda item: -item[2])
    return sum(item[2] for item in inside), inside[:_HOT_LINES]


def _short_name(name: str) -> str:
    """The name a call site spells: ``Parser.parse`` -> ``parse``,
    ``<built-in method builtins.sum>`` -> ``sum``, ``<method 'append' of
    'list' objects>`` -> ``append``."""
    method = re.match(r"<method '(\w+)' of", name)
    if method:
        return method.group(1)
    return name.strip("<>{}").split(" ")[-1].rsplit(".", 1)[-1]


def _impact(measured: _Measured, stats: FunctionStats, match: Match
            ) -> tuple[float, list[tuple[int, float, float, int]]]:
    """Seconds at stake for a match: the flagged lines' measured heat when
    the profile has line heat, else the function's own time plus the time of
    the callees called from the flagged lines (bounded by its total)."""
    heated = _span_heat(measured, stats.index, match.first, match.last)
    if heated is not None:
        return min(heated[0], stats.total_time), heated[1]
    by_name: dict[str, float] = {}
    for callee, total in measured.callees.get(stats.index, []):
        short = _short_name(measured.stats[callee].name)
        by_name[short] = by_name.get(short, 0.0) + total * NS
    callee_time = sum(seconds for name, seconds in by_name.items() if name in match.callees)
    return min(stats.self_time + callee_time, stats.total_time), []


def _finding(rule: str, stats: FunctionStats, duration: float, *, line: int, detail: str,
             impact: float, lines: list[tuple[int, float, float, int]] | None = None,
             first: int = 0, last: int = 0, suggestion: str | None = None) -> Finding:
    title, why, try_this = RULES[rule]
    return Finding(
        rule=rule, title=title, file=stats.file, line=line, function=stats.name,
        function_index=stats.index, impact=impact,
        share=stats.total_time / duration if duration > 0 else 0.0,
        self_time=stats.self_time, total_time=stats.total_time, calls=stats.calls,
        detail=detail, why=why, suggestion=suggestion if suggestion is not None else try_this,
        lines=lines or [], first=first, last=last)


def _library_prefixes() -> tuple[str, ...]:
    from ._options import library_dirs

    own = os.path.dirname(os.path.abspath(__file__))
    return tuple(os.path.join(path, "") for path in [*library_dirs(), own] if path)


def _user_file(file: str, prefixes: tuple[str, ...]) -> bool:
    """A file of the user's program: not a library, not pipegauge, not a
    pseudo-file."""
    if not file or file.startswith("<") or file == "~":
        return False
    return not os.path.abspath(file).startswith(prefixes)


def _pattern_findings(measured: _Measured, sources: _Sources, settings: Settings,
                      prefixes: tuple[str, ...]) -> tuple[list[Finding], int, int]:
    """Pattern rules on every hot function: (findings, functions analysed,
    hot functions not found in their source)."""
    duration = measured.duration_ns * NS
    found: list[Finding] = []
    analysed: set[int] = set()
    unlocated = 0
    for stats in measured.stats:
        if stats.kind != "python" or duration <= 0 or stats.total_time < settings.min_share * duration:
            continue
        if stats.file.startswith("<") and not stats.file.startswith("<frozen"):
            sources.get(stats.file)  # generated code (exec, compile): no source, counted as skipped
            continue
        if not _user_file(stats.file, prefixes):
            continue
        is_module = stats.name.endswith("<module>")
        if stats.name.endswith(">") and not is_module:
            continue  # <lambda>, <genexpr>, <listcomp>: analysed with the function around them
        parsed = sources.get(stats.file)
        if parsed is None:
            continue
        tree, by_line = parsed
        node: ast.AST | None = tree if is_module else by_line.get(stats.line)
        if node is None:
            unlocated += 1
            continue
        aliases, lists = sources.module_facts(stats.file, tree)
        context = Context(calls=0 if measured.sampled else stats.calls,
                          per_record_calls=settings.per_record_calls,
                          aliases=aliases, module_lists=lists)
        try:
            matches = check_function(node, context, max_complexity=settings.complexity)
        except RecursionError:  # an expression nested too deeply to walk
            unlocated += 1
            continue
        analysed.add(stats.index)
        for match in matches:
            impact, lines = _impact(measured, stats, match)
            if match.rule == "complexity":
                impact = stats.self_time if not lines else impact
            found.append(_finding(match.rule, stats, duration, line=match.line, detail=match.detail,
                                  impact=impact, lines=lines, first=match.first, last=match.last,
                                  suggestion=match.hint or None))
    return found, len(analysed), unlocated


# -- dominance ------------------------------------------------------------------
def _entry_functions(profile: _core.Profile, correct: bool) -> set[int]:
    """Functions on the path from the root to the entry function (``<module>``,
    ``main``): they hold the whole run by construction."""
    from ._stage_report import _entry_node

    nodes = profile.nodes(correct)
    if len(nodes) < 2:
        return set()
    children: dict[int, list[int]] = {}
    for index, node in enumerate(nodes[1:], start=1):
        children.setdefault(int(node[0]), []).append(index)
    entry = _entry_node(nodes, children)
    funcs = set()
    at = entry
    while at > 0:
        funcs.add(int(nodes[at][1]))
        at = int(nodes[at][0])
    return funcs


def _dominance_text(measured: _Measured, stats: FunctionStats, duration: float
                    ) -> tuple[str, str, float, list[tuple[int, float, float, int]]]:
    """(where its time goes, what to try, seconds at stake, hot lines)."""
    share = stats.total_time / duration
    own = stats.self_time / stats.total_time if stats.total_time > 0 else 0.0
    parts = [f"{100 * share:.1f}% of the run; {100 * own:.0f}% of it in its own code"]
    callees = measured.callees.get(stats.index, [])
    if callees:
        callee, total = callees[0]
        parts.append(f"hottest callee {measured.stats[callee].name} "
                     f"({100 * total * NS / stats.total_time:.0f}% of its time)")
    heated = _span_heat(measured, stats.index, 0, 1 << 30)
    lines = heated[1] if heated else []
    if lines:
        parts.append(f"hottest line {lines[0][0]} ({100 * lines[0][2] / stats.total_time:.0f}%)")
    cpu = stats.cpu_time
    waiting = 1.0 - cpu / stats.total_time if cpu is not None and stats.total_time > 0 else 0.0
    if waiting > 0.5:
        advice = (f"{100 * waiting:.0f}% of its time is off-CPU (I/O, sleep, locks): overlap the "
                  "waits (threads, asyncio, a pool) or batch the requests")
    elif own >= 0.5:
        where = f" (line {lines[0][0]} first)" if lines else ""
        advice = (f"the time is in its own code{where}: vectorise the loop (NumPy/pandas), "
                  "move the per-item work to a C-backed call, or cache repeated results")
    elif callees:
        advice = (f"most of it is in callees: start with {measured.stats[callees[0][0]].name}; "
                  "call it less often (batch, cache) or make it cheaper")
    else:
        advice = "cut the work it does per call or call it less often (batch, cache)"
    impact = stats.self_time if own >= 0.5 else stats.total_time
    return "; ".join(parts), advice, impact, lines


def _dominance_findings(profile: _core.Profile, measured: _Measured, settings: Settings,
                        prefixes: tuple[str, ...], correct: bool) -> list[Finding]:
    duration = measured.duration_ns * NS
    if duration <= 0 or settings.dominance <= 0:
        return []
    entry = _entry_functions(profile, correct)
    found = []
    for stats in measured.stats:
        if stats.kind != "python" or not _user_file(stats.file, prefixes):
            continue
        own_share = stats.self_time / duration
        if stats.total_time / duration <= settings.dominance:
            continue
        callees = measured.callees.get(stats.index, [])
        wrapper = bool(callees) and callees[0][1] * NS >= WRAPPER_SHARE * stats.total_time
        if own_share <= settings.dominance and (wrapper or stats.index in entry):
            continue  # the callee, or the stages below the entry point, tell the story
        orchestrates = stats.self_time < ORCHESTRATOR_OWN * stats.total_time
        if own_share <= settings.dominance and orchestrates and callees \
                and callees[0][1] * NS > settings.dominance * duration:
            continue  # it only dispatches: its dominant callee is reported itself
        detail, advice, impact, lines = _dominance_text(measured, stats, duration)
        found.append(_finding("dominance", stats, duration, line=stats.line, detail=detail,
                              impact=impact, lines=lines, suggestion=advice))
    return found


def _stage_site(sources: _Sources, files: Sequence[str], name: str) -> tuple[str, int] | None:
    """Where a stage is declared: ``@stage("name")`` or ``with stage("name")``."""
    for file in files:
        parsed = sources.get(file)
        if parsed is None:
            continue
        for node in ast.walk(parsed[0]):
            if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value == name
                    and (getattr(node.func, "id", None) == "stage" or getattr(node.func, "attr", None) == "stage")):
                return file, node.lineno
    return None


def _stage_findings(profile: _core.Profile, sources: _Sources, settings: Settings,
                    duration: float, files: Sequence[str]) -> list[Finding]:
    """Declared stages above the dominance share (auto-stages are functions:
    the function rule covers them)."""
    from ._stage_report import stage_report

    report = stage_report(profile, auto=False)
    found = []
    for stage in report.stages:
        if duration <= 0 or settings.dominance <= 0 or stage.own <= settings.dominance * duration:
            continue
        site = _stage_site(sources, files, stage.name) or ("?", 0)
        share = stage.own / duration
        detail = f"stage {stage.name}: {100 * share:.1f}% of the run in its own work"
        if stage.records:
            detail += f", {stage.own / stage.records * 1e6:.1f} us per record over {stage.records:,} records"
        if stage.upstream > 0:
            detail += f"; {100 * stage.upstream / duration:.1f}% waiting on upstream stages"
        advice = ("it limits the pipeline's throughput: look at its hottest functions (the "
                  "findings below), batch its records, or run it on more workers")
        title, why, _unused = RULES["dominance"]
        found.append(Finding(rule="dominance", title=title, file=site[0], line=site[1],
                             function=f"stage {stage.name}", function_index=None, impact=stage.own,
                             share=share, self_time=stage.own, total_time=stage.wall,
                             calls=stage.invocations, detail=detail, why=why, suggestion=advice))
    return found


# -- dead code ------------------------------------------------------------------
def _is_test_file(file: str) -> bool:
    base = os.path.basename(file)
    parts = os.path.normpath(file).split(os.sep)
    return (base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py"
            or "tests" in parts[:-1] or "test" in parts[:-1])


def _is_main_guard(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name) and test.left.id == "__name__")


def _is_stub(node: ast.AST) -> bool:
    """An abstract or overload declaration: decorator or a body that only
    raises NotImplementedError, passes or is ``...``."""
    for decorator in getattr(node, "decorator_list", []):
        name = decorator.attr if isinstance(decorator, ast.Attribute) else getattr(decorator, "id", "")
        if name in ("abstractmethod", "overload", "abstractproperty"):
            return True
    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                          and isinstance(s.value.value, str))]  # type: ignore[attr-defined]
    if not body:
        return True
    only = body[0]
    if len(body) == 1 and isinstance(only, ast.Pass):
        return True
    if len(body) == 1 and isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant) \
            and only.value.value is Ellipsis:
        return True
    if len(body) == 1 and isinstance(only, ast.Raise) and only.exc is not None:
        exc = only.exc.func if isinstance(only.exc, ast.Call) else only.exc
        return getattr(exc, "id", "") == "NotImplementedError"
    return False


def _definitions(tree: ast.Module) -> list[tuple[ast.AST, ast.AST | None]]:
    """(function, enclosing function or None) for the functions a dead-code
    check considers: not under ``if __name__ == "__main__"``, not dunder, not
    a test, not a stub, not an inner function its enclosing function returns
    (a decorator's wrapper, a closure)."""
    result: list[tuple[ast.AST, ast.AST | None]] = []

    def visit(node: ast.AST, outer: ast.AST | None) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_main_guard(child) or isinstance(child, ast.ExceptHandler):
                continue  # run as a script only, or a fallback (``except ImportError: def ...``)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = child.name
                returned = outer is not None and any(
                    isinstance(s, ast.Return) and isinstance(s.value, ast.Name) and s.value.id == name
                    for s in ast.walk(outer))
                if not (name.startswith("__") and name.endswith("__")) and not name.startswith("test") \
                        and not returned and not _is_stub(child):
                    result.append((child, outer))
                visit(child, child)
            elif isinstance(child, ast.ClassDef):
                visit(child, outer)
            elif not isinstance(child, ast.Lambda):
                visit(child, outer)

    visit(tree, None)
    return result


def _dead_code(measured: _Measured, sources: _Sources, files: Sequence[str]) -> list[Finding]:
    """Functions of the profiled user modules that the run never called."""
    if measured.sampled:
        return []  # a function never sampled may still have run
    called = {(stats.file, stats.line) for stats in measured.stats if stats.calls > 0}
    title, why, suggestion = RULES["dead-code"]
    found = []
    for file in files:
        if _is_test_file(file):
            continue
        parsed = sources.get(file)
        if parsed is None:
            continue
        for node, outer in _definitions(parsed[0]):
            if (file, first_line(node)) in called or (file, node.lineno) in called:  # type: ignore[attr-defined]
                continue
            if outer is not None and (file, first_line(outer)) not in called:
                continue  # the enclosing function is reported (or is not called either)
            name = node.name  # type: ignore[attr-defined]
            found.append(Finding(
                rule="dead-code", title=title, file=file, line=node.lineno,  # type: ignore[attr-defined]
                function=name, function_index=None, impact=0.0, share=0.0, self_time=0.0,
                total_time=0.0, calls=0, detail=f"{name} was not called in this run",
                why=why, suggestion=suggestion))
    return found


# -- the whole analysis ------------------------------------------------------------
def analyse(profile: _core.Profile, *, correct: bool = True, settings: Settings | None = None,
            base: str | None = None) -> Findings:
    """The findings of a profile, best first. base: the directory relative
    file names in the profile are relative to (default: the run's cwd when
    recorded, else the current directory)."""
    settings = settings or Settings()
    measured = _measure(profile, correct)
    sources = _Sources(base if base is not None else profile.meta.get("cwd") or None)
    prefixes = _library_prefixes()
    duration = measured.duration_ns * NS
    patterns, analysed, unlocated = _pattern_findings(measured, sources, settings, prefixes)
    flagged = {finding.function_index for finding in patterns if finding.rule != "complexity"}
    dominance = [finding for finding in _dominance_findings(profile, measured, settings, prefixes, correct)
                 if finding.function_index not in flagged]
    files = sorted({stats.file for stats in measured.stats
                    if stats.kind == "python" and _user_file(stats.file, prefixes)})
    stages = _stage_findings(profile, sources, settings, duration, files)
    at_stage = {(finding.file, finding.line) for finding in stages}
    dominance = [finding for finding in dominance if (finding.file, finding.line) not in at_stage]
    dead = _dead_code(measured, sources, files)
    ranked = sorted(patterns + dominance + stages, key=lambda f: (-f.impact, f.file, f.line, f.rule))
    ranked += sorted(dead, key=lambda f: (f.file, f.line))
    for rank, finding in enumerate(ranked, start=1):
        finding.rank = rank
    return Findings(findings=ranked, duration=duration, analysed=analysed,
                    skipped_files=sources.skipped, unlocated=unlocated,
                    line_heat=measured.has_heat, settings=settings, sampled=measured.sampled)


def settings_from(values: Mapping[str, Any]) -> Settings:
    """Settings from the resolved configuration (percentages as written)."""
    return Settings(
        min_share=float(values.get("findings_min_percent", 100 * DEFAULT_MIN_SHARE)) / 100,
        dominance=float(values.get("findings_dominance_percent", 100 * DEFAULT_DOMINANCE)) / 100,
        complexity=int(values.get("findings_complexity", DEFAULT_COMPLEXITY)),
        per_record_calls=int(values.get("findings_per_record_calls", DEFAULT_PER_RECORD_CALLS)),
    )


def configured_settings() -> Settings:
    """The thresholds from the configuration file and environment; the
    defaults when it cannot be read (its errors are reported elsewhere)."""
    from ._config import resolve

    try:
        return settings_from(resolve().values)
    except Exception:
        return Settings()
