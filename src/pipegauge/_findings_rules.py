"""The static rules behind findings: patterns in one function's syntax tree
that make CPython code slow, each with the lines whose measured time is the
evidence.

Pure ``ast`` work, no profile: ``_findings`` picks the functions that matter
by measurement, calls :func:`check_function` on each, and ranks what comes
back by measured impact. Written for the ``ast`` of Python 3.10 to 3.13
(``match`` statements exist from 3.10; nothing here needs a newer node).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# rule id -> (title, why it is slow, what to try)
RULES: dict[str, tuple[str, str, str]] = {
    "nested-loop": (
        "nested loops over the same data",
        "every item is compared with every item: the work grows with n\u00b2, "
        "so doubling the input makes this four times slower",
        "build an index once (a dict or set keyed by what the inner loop looks "
        "for, or sort and scan) and make one pass; with NumPy/pandas use a "
        "join, merge or broadcast operation",
    ),
    "sliding-window": (
        "window re-aggregated every iteration",
        "each iteration walks the whole window again (O(n\u00b7w) instead of "
        "O(n)), allocating a slice or scanning a buffer each time",
        "keep a running total (add the new item, subtract the one leaving), a "
        "monotonic deque for min/max, or use a rolling operation "
        "(pandas .rolling(w).mean(), numpy.convolve / cumsum differences)",
    ),
    "list-membership": (
        "membership test on a list inside a loop",
        "`x in some_list` scans the list item by item, so the loop is "
        "O(n\u00b7m); a set or dict answers in constant time",
        "build a set (or dict) once before the loop: `wanted = set(items)`, "
        "then test `x in wanted`",
    ),
    "concat-growth": (
        "growth by concatenation in a loop",
        "`s += ...` on a str (or `lst = lst + [...]`) builds a new object and "
        "copies everything so far on each iteration: quadratic in the result "
        "size",
        "collect the pieces in a list and `''.join(pieces)` once at the end; "
        "for lists use `lst.append(x)` or `lst.extend(...)`",
    ),
    "array-growth": (
        "DataFrame/array grown inside a loop",
        "pd.concat, DataFrame.append, np.append and np.concatenate copy the "
        "whole accumulated table or array on every call: quadratic, and slow "
        "per call",
        "append the rows or chunks to a Python list and call pd.concat / "
        "np.concatenate (or build the DataFrame) once after the loop; or "
        "preallocate the array and fill it",
    ),
    "row-wise-pandas": (
        "row-wise pandas",
        "iterrows/itertuples/apply(axis=1) run Python code once per row and "
        "build a Series or tuple per row: orders of magnitude slower than "
        "column operations",
        "use vectorised column expressions (df['a'] * df['b'], np.where, "
        ".map on a column, groupby/merge); if a loop is unavoidable, loop over "
        "df.to_numpy() or zip the columns",
    ),
    "per-record-setup": (
        "setup repeated per record",
        "compiling a pattern, opening a file or parsing JSON per record pays "
        "a fixed cost (a cache lookup, a system call, a parser start) every "
        "time where one batched call would do",
        "hoist re.compile to module level, open the file once outside the "
        "loop, and parse whole batches (one json.loads of a list, or a "
        "faster parser) instead of one record at a time",
    ),
    "complexity": (
        "high cyclomatic complexity",
        "many branches run on every call: branchy per-record Python is slow "
        "in CPython, and hard to vectorise or to optimise further",
        "split the function by case (dispatch through a dict of small "
        "functions), hoist checks that do not change per record out of the "
        "hot path, or replace branch chains by lookups",
    ),
    "dead-code": (
        "function not called in this run",
        "defined in a module the run used, yet never called while profiling "
        "(evidence, not proof: other inputs or entry points may call it)",
        "check whether it is still needed; remove it, or cover it with a run "
        "that exercises it",
    ),
    "dominance": (
        "dominates the run",
        "this one place holds a large share of the whole run, so it is where "
        "a speed-up pays most",
        "",
    ),
}

# calls whose argument is a window being re-aggregated
_AGGREGATES = frozenset({
    "sum", "min", "max", "sorted", "statistics.mean", "statistics.fmean", "statistics.median",
    "statistics.stdev", "statistics.pstdev", "statistics.variance", "numpy.mean", "numpy.sum",
    "numpy.min", "numpy.max", "numpy.median", "numpy.std", "numpy.average", "math.fsum",
    "mean", "fmean", "median", "stdev",
})
_AGGREGATE_METHODS = frozenset({"sum", "mean", "min", "max", "median", "std", "var"})
_GROWERS = frozenset({
    "pandas.concat", "numpy.append", "numpy.concatenate", "numpy.vstack", "numpy.hstack",
    "numpy.row_stack", "numpy.column_stack", "numpy.stack",
})
_PER_RECORD = frozenset({"re.compile", "open", "io.open", "codecs.open", "json.loads", "json.load"})
_PER_RECORD_HINTS = {
    "re.compile": "compile the pattern once at module level (PATTERN = re.compile(...)) "
                  "and reuse it",
    "open": "open the file once outside the per-record path and pass the handle, or "
            "read it whole once",
    "json.loads": "parse records in batches (read many lines, one json.loads of a JSON "
                  "array, or a faster parser such as orjson) instead of one call per record",
}
_LIST_MAKERS = frozenset({"list", "sorted", "tuple"})
_SET_MAKERS = frozenset({"set", "frozenset", "dict", "collections.Counter", "collections.defaultdict"})
_SMALL_LITERAL = 4  # a literal list of at most this many constants scans fast enough
_CONVENTIONAL = {"np": "numpy", "pd": "pandas"}


@dataclass(frozen=True)
class Match:
    """One rule matched in one function."""

    rule: str
    line: int  # where to look
    first: int  # first and last line whose measured time is the evidence
    last: int
    detail: str  # what was seen, in words
    callees: frozenset[str] = frozenset()  # names called in first..last
    hint: str = ""  # a suggestion specific to what was seen (else the rule's)


@dataclass
class Context:
    """What a rule needs besides the function's syntax: the measured call
    count and the module's imports and list-valued globals."""

    calls: int = 0  # measured calls of the function (0: unknown)
    per_record_calls: int = 100  # from this many calls a function runs per record
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> dotted module path
    module_lists: frozenset[str] = frozenset()  # module-level names bound to lists


@dataclass
class _Loop:
    node: ast.AST
    key: str | None  # the data it iterates over ("rows", "self.items"), None if unknown
    text: str  # the loop header, for messages
    targets: frozenset[str]
    mutated: frozenset[str]  # names appended to / popped inside the loop
    sliced: frozenset[str]  # names assigned a slice inside the loop


def module_aliases(tree: ast.Module) -> dict[str, str]:
    """Import aliases of a module: ``np`` -> ``numpy``, ``loads`` -> ``json.loads``."""
    aliases = dict(_CONVENTIONAL)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                aliases[name.asname or name.name.split(".")[0]] = name.name if name.asname else \
                    name.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for name in node.names:
                aliases[name.asname or name.name] = f"{node.module}.{name.name}"
    return aliases


def module_lists(tree: ast.Module) -> frozenset[str]:
    """Module-level names bound to a list or tuple (and never to a set)."""
    return _list_names(tree.body, top_only=True)


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """``np.append`` -> ``numpy.append`` (through the import aliases)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _segment(node: ast.AST, limit: int = 48) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _walk_local(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node below nodes, not entering nested functions, lambdas or classes."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                stack.append(child)


def _data_key(node: ast.AST) -> str | None:
    """The collection an iterable expression walks: ``rows`` for ``rows``,
    ``rows[i + 1:]``, ``enumerate(rows)``, ``range(len(rows))``,
    ``range(i, len(rows))``, ``rows.items()``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _data_key(node.value) if isinstance(node.value, (ast.Name, ast.Attribute)) else None
        return f"{inner}.{node.attr}" if inner else None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        return _data_key(node.value)
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name) and func.id == "range":
        for arg in node.args:
            if (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id == "len"
                    and arg.args):
                return _data_key(arg.args[0])
        return None
    if isinstance(func, ast.Name) and func.id in ("enumerate", "reversed", "sorted", "list", "tuple",
                                                  "iter") and node.args:
        return _data_key(node.args[0])
    if isinstance(func, ast.Attribute) and func.attr in ("items", "keys", "values", "iterrows",
                                                         "itertuples"):
        return _data_key(func.value)
    return None


def _names(target: ast.AST) -> frozenset[str]:
    return frozenset(node.id for node in ast.walk(target) if isinstance(node, ast.Name))


def _loop_sets(body: list[ast.AST]) -> tuple[frozenset[str], frozenset[str]]:
    """(names mutated like a window buffer, names assigned a slice) in body."""
    mutated, sliced = set(), set()
    for node in _walk_local(body):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("append", "appendleft", "pop", "popleft", "insert")
                and isinstance(node.func.value, ast.Name)):
            mutated.add(node.func.value.id)
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript)
              and isinstance(node.value.slice, ast.Slice)):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    sliced.add(target.id)
    return frozenset(mutated), frozenset(sliced)


def _make_loop(node: ast.AST, iterable: ast.AST | None, target: ast.AST | None,
               body: list[ast.AST], text: str) -> _Loop:
    mutated, sliced = _loop_sets(body)
    return _Loop(node=node, key=_data_key(iterable) if iterable is not None else None, text=text,
                 targets=_names(target) if target is not None else frozenset(),
                 mutated=mutated, sliced=sliced)


def _list_names(body: list[ast.stmt], *, top_only: bool = False) -> frozenset[str]:
    """Names bound to a list/tuple value in body (and never to a set or dict)."""
    lists, sets = set(), set()
    nodes = body if top_only else _walk_local(body)
    for node in nodes:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        kind = _value_kind(value)
        for target in targets:
            if isinstance(target, ast.Name) and kind == "list":
                lists.add(target.id)
            elif isinstance(target, ast.Name) and kind == "set":
                sets.add(target.id)
    return frozenset(lists - sets)


def _value_kind(value: ast.AST) -> str | None:
    """'list' for a list-like value worth flagging, 'set' for a hashed one."""
    if isinstance(value, (ast.List, ast.Tuple)):
        small = len(value.elts) <= _SMALL_LITERAL and all(isinstance(e, ast.Constant) for e in value.elts)
        return None if small else "list"
    if isinstance(value, ast.ListComp):
        return "list"
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult) and isinstance(value.left, ast.List):
        return "list"
    if isinstance(value, (ast.Set, ast.SetComp, ast.Dict, ast.DictComp)):
        return "set"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        if value.func.id in _LIST_MAKERS:
            return "list"
        if value.func.id in _SET_MAKERS:
            return "set"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        if value.func.attr in ("Counter", "defaultdict", "OrderedDict"):
            return "set"
    return None


def _string_names(body: list[ast.stmt]) -> dict[str, str]:
    """Names bound to a str or bytes value in body: name -> 'str' / 'bytes'."""
    kinds: dict[str, str] = {}
    for node in _walk_local(body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            kind = _text_kind(node.value)
            if kind:
                kinds[node.targets[0].id] = kind
    return kinds


def _text_kind(value: ast.AST) -> str | None:
    if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)):
        return "bytes" if isinstance(value.value, bytes) else "str"
    if isinstance(value, ast.JoinedStr):
        return "str"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("str", "repr"):
        return "str"
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr in ("format", "join", "strip", "upper", "lower")):
        return "str"
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mod) and _text_kind(value.left):
        return "str"
    return None


def _called_names(nodes: Iterable[ast.AST]) -> frozenset[str]:
    """Last components of the names called below nodes (``helper``, ``open``)."""
    names = set()
    for node in _walk_local(nodes):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return frozenset(names)


class _Checker:
    """Walks one function body, keeping the stack of enclosing loops."""

    def __init__(self, body: list[ast.stmt], context: Context) -> None:
        self.context = context
        self.body = body
        self.lists = _list_names(body) | (context.module_lists - _assigned(body))
        self.strings = _string_names(body)
        self.matches: list[Match] = []
        self._seen: set[tuple[str, int]] = set()

    def run(self) -> list[Match]:
        for statement in self.body:
            self._visit(statement, ())
        return self.matches

    def _add(self, rule: str, node: ast.AST, span: ast.AST, detail: str, hint: str = "") -> None:
        line = getattr(node, "lineno", 0)
        if (rule, line) in self._seen:
            return
        self._seen.add((rule, line))
        first = getattr(span, "lineno", line)
        last = getattr(span, "end_lineno", None) or first
        self.matches.append(Match(rule=rule, line=line, first=first, last=last, detail=detail,
                                  callees=_called_names([span]), hint=hint))

    # -- the walk ---------------------------------------------------------
    def _visit(self, node: ast.AST, loops: tuple[_Loop, ...]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return  # measured (and analysed) as functions of their own
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self._visit(node.iter, loops)
            text = f"for {_segment(node.target, 20)} in {_segment(node.iter, 32)}"
            loop = _make_loop(node, node.iter, node.target, node.body, text)
            self._nested(loop, loops)
            inner = loops + (loop,)
            self._visit(node.target, inner)
            for child in node.body + node.orelse:
                self._visit(child, inner)
            return
        if isinstance(node, ast.While):
            loop = _make_loop(node, None, None, node.body, f"while {_segment(node.test, 36)}")
            inner = loops + (loop,)
            for child in [node.test, *node.body, *node.orelse]:
                self._visit(child, inner)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self._comprehension(node, loops)
            return
        if loops:
            self._in_loop(node, loops)
        self._anywhere(node, loops)
        for child in ast.iter_child_nodes(node):
            self._visit(child, loops)

    def _comprehension(self, node: ast.AST, loops: tuple[_Loop, ...]) -> None:
        inner = loops
        for generator in node.generators:  # type: ignore[attr-defined]
            self._visit(generator.iter, inner)
            text = f"for {_segment(generator.target, 20)} in {_segment(generator.iter, 32)}"
            loop = _make_loop(node, generator.iter, generator.target, [], text)
            self._nested(loop, inner)
            inner = inner + (loop,)
            for condition in generator.ifs:
                self._visit(condition, inner)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]  # type: ignore[attr-defined]
        for part in parts:
            self._visit(part, inner)

    # -- rules that need a loop around them --------------------------------
    def _nested(self, loop: _Loop, loops: tuple[_Loop, ...]) -> None:
        if loop.key is None:
            return
        for outer in loops:
            if outer.key == loop.key:
                self._add("nested-loop", loop.node, outer.node,
                          f"`{loop.text}` (line {loop.node.lineno}) runs inside `{outer.text}` "  # type: ignore[attr-defined]
                          f"(line {outer.node.lineno}): both walk `{loop.key}`")  # type: ignore[attr-defined]
                return

    def _in_loop(self, node: ast.AST, loops: tuple[_Loop, ...]) -> None:
        loop = loops[-1]
        if isinstance(node, ast.Call):
            self._call_in_loop(node, loops)
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, ast.Name) \
                        and right.id in self.lists:
                    self._add("list-membership", node, node,
                              f"`{_segment(node)}` scans the list `{right.id}` on every "
                              f"iteration of `{loop.text}`")
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            self._aug_concat(node, loop)
        elif isinstance(node, ast.Assign):
            self._assign_in_loop(node, loop)

    def _call_in_loop(self, node: ast.Call, loops: tuple[_Loop, ...]) -> None:
        loop = loops[-1]
        name = _dotted(node.func, self.context.aliases)
        if name in _AGGREGATES and node.args and self._is_window(node.args[0], loops):
            self._add("sliding-window", node, node,
                      f"`{_segment(node)}` aggregates a window again on every iteration of "
                      f"`{loop.text}`")
        elif (isinstance(node.func, ast.Attribute) and node.func.attr in _AGGREGATE_METHODS
              and self._is_window(node.func.value, loops)):
            self._add("sliding-window", node, node,
                      f"`{_segment(node)}` aggregates a slice again on every iteration of "
                      f"`{loop.text}`")
        elif name in _GROWERS:
            self._add("array-growth", node, node,
                      f"`{_segment(node)}` copies the accumulated data on every iteration of "
                      f"`{loop.text}`")
        elif name in _PER_RECORD:
            self._add("per-record-setup", node, node,
                      f"`{_segment(node)}` runs on every iteration of `{loop.text}`",
                      _hint(name))
        elif (isinstance(node.func, ast.Attribute) and node.func.attr in ("index", "count", "remove")
              and _data_key(node.func.value) is not None
              and any(outer.key == _data_key(node.func.value) for outer in loops)):
            self._add("nested-loop", node, loop.node,
                      f"`{_segment(node)}` scans `{_data_key(node.func.value)}` inside "
                      f"`{loop.text}`, which walks the same data")

    def _is_window(self, arg: ast.AST, loops: tuple[_Loop, ...]) -> bool:
        """A slice with a moving bound, or a buffer filled and drained in the loop."""
        if isinstance(arg, ast.Subscript) and isinstance(arg.slice, ast.Slice):
            bounds = [arg.slice.lower, arg.slice.upper]
            return any(bound is not None and not isinstance(bound, ast.Constant) for bound in bounds)
        if isinstance(arg, ast.Name):
            if any(arg.id in loop.targets for loop in loops):
                return False  # a fresh item of the loop, not a window over it
            return any(arg.id in loop.mutated or arg.id in loop.sliced for loop in loops)
        return False

    def _aug_concat(self, node: ast.AugAssign, loop: _Loop) -> None:
        if not isinstance(node.target, ast.Name):
            return
        kind = self.strings.get(node.target.id) or _text_kind(node.value)
        if kind:
            self._add("concat-growth", node, node,
                      f"`{_segment(node)}` copies the growing {kind} `{node.target.id}` on every "
                      f"iteration of `{loop.text}`")

    def _assign_in_loop(self, node: ast.Assign, loop: _Loop) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return
        name, value = node.targets[0].id, node.value
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            operands = _add_operands(value)
            if any(isinstance(side, ast.Name) and side.id == name for side in operands):
                others = [side for side in operands if not (isinstance(side, ast.Name) and side.id == name)]
                if any(isinstance(side, ast.Tuple) for side in others):
                    kind: str | None = "tuple"
                elif any(isinstance(side, (ast.List, ast.ListComp)) for side in others) \
                        or name in self.lists:
                    kind = "list"
                else:
                    kind = self.strings.get(name) or next(
                        (found for found in map(_text_kind, others) if found), None)
                if kind:
                    self._add("concat-growth", node, node,
                              f"`{_segment(node)}` copies the growing {kind} `{name}` on every "
                              f"iteration of `{loop.text}`")
        elif (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
              and value.func.attr in ("append", "_append")
              and isinstance(value.func.value, ast.Name) and value.func.value.id == name):
            # list.append returns None: rebinding the result means a DataFrame
            self._add("array-growth", node, node,
                      f"`{_segment(node)}`: DataFrame.append copies the frame on every "
                      f"iteration of `{loop.text}`")

    # -- rules that hold anywhere in a hot function ------------------------
    def _anywhere(self, node: ast.AST, loops: tuple[_Loop, ...]) -> None:
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            if isinstance(node, ast.Call) and not loops:
                self._per_call(node)
            return
        attr = node.func.attr
        if attr in ("iterrows", "itertuples"):
            span = next((loop.node for loop in reversed(loops) if loop.key is not None), node)
            self._add("row-wise-pandas", node, span,
                      f"`{_segment(node)}` runs Python code once per row")
        elif attr == "apply" and any(
                keyword.arg == "axis" and isinstance(keyword.value, ast.Constant)
                and keyword.value.value in (1, "columns") for keyword in node.keywords):
            self._add("row-wise-pandas", node, node,
                      f"`{_segment(node)}` calls a Python function once per row")
        elif not loops:
            self._per_call(node)

    def _per_call(self, node: ast.Call) -> None:
        """re.compile / open / json.loads in a function called per record."""
        context = self.context
        if context.calls < context.per_record_calls or context.per_record_calls <= 0:
            return
        name = _dotted(node.func, context.aliases)
        if name in _PER_RECORD:
            self._add("per-record-setup", node, node,
                      f"`{_segment(node)}` runs on each of the function's "
                      f"{context.calls:,} calls", _hint(name))


def _add_operands(node: ast.AST) -> list[ast.AST]:
    """The operands of a chain of ``+``: ``a + b + c`` -> [a, b, c]."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _add_operands(node.left) + _add_operands(node.right)
    return [node]


def _hint(name: str) -> str:
    """The per-record suggestion for a call name (io.open is open, json.load
    is json.loads)."""
    key = {"io.open": "open", "codecs.open": "open", "json.load": "json.loads"}.get(name, name)
    return _PER_RECORD_HINTS.get(key, "")


def _assigned(body: list[ast.stmt]) -> frozenset[str]:
    """Names bound in body (locals that shadow module names)."""
    names = set()
    for node in _walk_local(body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return frozenset(names)


def complexity(function: ast.AST) -> int:
    """McCabe's cyclomatic complexity: 1 + decision points, nested functions
    not counted."""
    score = 1
    for node in _walk_local(list(ast.iter_child_nodes(function))):
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.IfExp, ast.ExceptHandler)):
            score += 1
        elif isinstance(node, ast.BoolOp):
            score += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            score += 1 + len(node.ifs)
        elif type(node).__name__ == "match_case":
            score += 1
    return score


def function_body(node: ast.AST) -> list[ast.stmt]:
    """The statements to analyse: a function's body, or a module's top-level
    code without its definitions."""
    if isinstance(node, ast.Module):
        return [s for s in node.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                           ast.ClassDef))]
    return list(node.body)  # type: ignore[attr-defined]


def check_function(node: ast.AST, context: Context, *, max_complexity: int) -> list[Match]:
    """The pattern rules matched in one function (or module) node."""
    matches = _Checker(function_body(node), context).run()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and max_complexity > 0:
        score = complexity(node)
        if score > max_complexity:
            matches.append(Match(
                rule="complexity", line=node.lineno, first=node.lineno,
                last=node.end_lineno or node.lineno,
                detail=f"cyclomatic complexity {score} (threshold {max_complexity})",
                callees=_called_names(node.body)))
    return sorted(matches, key=lambda match: (match.line, match.rule))
