"""Export to cProfile's pstats format (a marshalled dict), for ``pstats.Stats``,
snakeviz and gprof2dot.

Keys are (filename, firstlineno, funcname) with funcname the code object's
co_name, builtins as ('~', 0, '<built-in method builtins.len>'). Values are
(primitive_calls, calls, tottime, cumtime, callers) with times in seconds and
callers {caller key: (calls, primitive_calls, tottime, cumtime)}, the order
cProfile's own snapshot uses.
"""

from __future__ import annotations

import marshal
from pathlib import Path
from typing import Any

from .. import _core
from .._files import write_atomic

PstatsKey = tuple[str, int, str]


def code_name(qualified: str) -> str:
    """co_name from a qualified name: 'Loader.load.<locals>.<lambda>' -> '<lambda>'."""
    return qualified.rsplit(".", 1)[-1] if qualified else qualified


def function_key(record: tuple[Any, ...]) -> PstatsKey:
    name, file, line, kind = record[0], record[1], record[2], record[3]
    if int(kind) == 1:
        return ("~", 0, str(name))
    return (str(file), int(line), code_name(str(name)))


def pstats_dict(profile: _core.Profile, correct: bool) -> dict[PstatsKey, tuple[Any, ...]]:
    """The dict ``pstats.Stats`` loads, built from the function table and edges."""
    records = profile.functions(correct)
    keys = [function_key(record) for record in records]
    entries: dict[PstatsKey, list[Any]] = {}
    for key, record in zip(keys, records, strict=True):
        calls, primitive = int(record[4]), int(record[5])
        tottime, cumtime = float(record[7]) / 1e9, float(record[8]) / 1e9
        entry = entries.setdefault(key, [0, 0, 0.0, 0.0, {}])
        # two functions can share a key (same file, line and co_name): merge them
        entry[0] += primitive
        entry[1] += calls
        entry[2] += tottime
        entry[3] += cumtime
    for caller, callee, calls, primitive, exclusive_ns, inclusive_ns in profile.edges(correct):
        if not (0 <= caller < len(keys) and 0 <= callee < len(keys)):
            continue  # called from the root: no caller, as in cProfile
        callers = entries[keys[callee]][4]
        previous = callers.get(keys[caller], (0, 0, 0.0, 0.0))
        callers[keys[caller]] = (
            previous[0] + int(calls),
            previous[1] + int(primitive),
            previous[2] + float(exclusive_ns) / 1e9,
            previous[3] + float(inclusive_ns) / 1e9,
        )
    return {key: tuple(entry) for key, entry in entries.items()}


def export_pstats(profile: _core.Profile, path: Path, *, correct: bool) -> None:
    data = pstats_dict(profile, correct)
    write_atomic(path, marshal.dumps(data))
