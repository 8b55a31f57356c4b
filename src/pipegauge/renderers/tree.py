"""``pipegauge view --tree``: the call tree, indented, with % of the run,
at most 80 columns wide (deep paths stop indenting and show their depth)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._stats import FunctionStats
from ._text import WIDTH, Style, fit_middle, label_for, short_count, short_duration
from .table import matches

_INDENT = "  "
_MAX_INDENT = 8  # deeper nodes are indented this far and labelled with their depth
_FIXED = 7 + 7 + 7 + 9 + 2  # percent, total, self, calls, gap
_NOTE_FORMS = (("recursive", "raised", 24), ("rec", "exc", 16))  # and the label width each leaves at least


def _notes(recursive: bool, exc_exits: int, room: int) -> str:
    """' (recursive, 3 raised)' when the label keeps 24 columns of room, else
    ' (rec, 3 exc)' when it keeps 16, else nothing."""
    for recursion, raised, label_width in _NOTE_FORMS:
        notes = ([recursion] if recursive else []) + ([f"{short_count(exc_exits)} {raised}"] if exc_exits else [])
        text = f" ({', '.join(notes)})" if notes else ""
        if room - len(text) >= label_width:
            return text
    return ""


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
        indent = _INDENT * min(depth, _MAX_INDENT) + (f"[{depth}] " if depth > _MAX_INDENT else "")
        room = WIDTH - _FIXED - len(indent)
        suffix = _notes(bool(recursive), int(exc_exits), room)
        if 0 <= func < len(functions):
            label = label_for(functions[func], cwd, room - len(suffix))
        else:
            label = fit_middle(f"<function {func}>", room - len(suffix))
        hot = ("red",) if percent >= 25 else ("yellow",) if percent >= 5 else ()
        cells = (f"{percent:>6.1f}%{short_duration(inclusive * 1e-9):>7}{short_duration(exclusive * 1e-9):>7}"
                 f"{short_count(int(calls), 8):>9}")
        lines.append(f"{style(cells, *hot)}  {indent}{label}{style(suffix, 'dim') if suffix else ''}")
        stack.extend((child, depth + 1) for child in reversed(children[index]))
    if len(lines) == 1:
        lines.append(fit_middle("(no call paths" + (f" match {pattern!r})" if pattern else " to show)"), WIDTH))
    if hidden:
        limits = f"below {min_percent:g}% of the run" + (f" or deeper than {max_depth}" if max_depth else "")
        note = f"({hidden} subtrees {limits} hidden; see --min-percent, --max-depth)"
        if len(note) > WIDTH:
            note = f"({hidden} subtrees {limits} hidden)"
        lines.append(style(fit_middle(note, WIDTH), "dim"))
    return "".join(line + "\n" for line in lines)
