"""``pipegauge view --tree``: the call tree, indented, with % of the run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._stats import FunctionStats
from .._units import format_duration_ns
from ._text import Style, label_for
from .table import matches

WIDTH = 100
_INDENT = "  "
_FIXED = 7 + 8 + 8 + 10 + 2  # percent, total, self, calls, gap


def _kept(nodes: Sequence[tuple[Any, ...]], functions: Sequence[FunctionStats], pattern: str | None) -> list[bool]:
    """Nodes to show for --filter: matches, their ancestors and their descendants."""
    count = len(nodes)
    if not pattern:
        return [True] * count
    matched = [False] * count
    for index in range(1, count):
        func = nodes[index][1]
        matched[index] = 0 <= func < len(functions) and matches(functions[func], pattern)
    below = list(matched)  # a match at or under the node: keep as an ancestor
    for index in range(count - 1, 0, -1):  # children come after their parents
        if below[index]:
            below[nodes[index][0]] = True
    under = list(matched)  # a match at or above the node: keep as a descendant
    for index in range(1, count):
        parent = nodes[index][0]
        if parent > 0 and under[parent]:
            under[index] = True
    return [below[index] or under[index] for index in range(count)]


def render_tree(nodes: Sequence[tuple[Any, ...]], functions: Sequence[FunctionStats], *, total_ns: float,
                cwd: str, min_percent: float, max_depth: int | None, pattern: str | None,
                style: Style) -> str:
    """nodes as Profile.nodes() gives them: (parent, func, calls, exc_exits,
    inclusive_ns, exclusive_ns, recursive); functions indexed like the profile's table."""
    children: list[list[int]] = [[] for _ in nodes]
    for index in range(1, len(nodes)):
        parent = nodes[index][0]
        if 0 <= parent < len(nodes):
            children[parent].append(index)
    for child_list in children:
        child_list.sort(key=lambda index: nodes[index][4], reverse=True)
    if total_ns <= 0:
        total_ns = sum(nodes[index][4] for index in children[0]) or 1.0
    threshold = total_ns * min_percent / 100.0
    keep = _kept(nodes, functions, pattern)

    head = f"{'total%':>7}{'total':>8}{'self':>8}{'calls':>10}  function"
    lines = [style(head, "bold")]
    hidden = 0
    stack = [(index, 0) for index in reversed(children[0])]
    while stack:
        index, depth = stack.pop()
        parent, func, calls, exc_exits, inclusive, exclusive, recursive = nodes[index][:7]
        if not keep[index]:
            continue
        if inclusive < threshold or (max_depth is not None and depth >= max_depth):
            hidden += 1
            continue
        percent = inclusive / total_ns * 100.0
        label_width = max(WIDTH - _FIXED - len(_INDENT) * depth, 20)
        if 0 <= func < len(functions):
            label = label_for(functions[func], cwd, label_width)
        else:
            label = f"<function {func}>"
        notes = []
        if recursive:
            notes.append("recursive")
        if exc_exits:
            notes.append(f"{exc_exits} raised")
        suffix = style(f" ({', '.join(notes)})", "dim") if notes else ""
        hot = ("red",) if percent >= 25 else ("yellow",) if percent >= 5 else ()
        cells = f"{percent:>6.1f}%{format_duration_ns(inclusive):>8}{format_duration_ns(exclusive):>8}{calls:>10}"
        lines.append(f"{style(cells, *hot)}  {_INDENT * depth}{label}{suffix}")
        stack.extend((child, depth + 1) for child in reversed(children[index]))
    if len(lines) == 1:
        lines.append("(no call paths" + (f" match {pattern!r})" if pattern else " to show)"))
    if hidden:
        limits = f"below {min_percent:g}% of the run" + (f" or deeper than {max_depth}" if max_depth else "")
        lines.append(style(f"({hidden} subtrees {limits} hidden; see --min-percent, --max-depth)", "dim"))
    return "".join(line + "\n" for line in lines)
