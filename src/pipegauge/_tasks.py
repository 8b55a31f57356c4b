"""asyncio tasks: how long each task lived, for the async view.

The tracer already keeps awaiting out of every coroutine's time: a
coroutine's call ends when it suspends (PY_YIELD) and a new one starts when
it resumes, so its total time is the time it actually ran. What the tracer
cannot see is a task's lifetime. While a whole-process session runs, every
event loop created through the asyncio policy (``asyncio.run``,
``asyncio.new_event_loop``, ``asyncio.Runner``) gets a task factory that notes
when each task is created and when it is done; per coroutine function the
session records the number of tasks and their summed and longest lifetimes
(metadata ``async_tasks``, JSON). The async view then splits each lifetime
into running (the coroutine's total time in the profile) and awaiting (the
rest: off-CPU waiting from the task's point of view).

asyncio is not imported for this: when it is not loaded yet, a finder on
``sys.meta_path`` installs the hook right after ``asyncio.events`` is first
imported. A task factory that the program sets itself replaces ours (its
tasks are then not counted); one set before ours is wrapped.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import threading
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

META_KEY = "async_tasks"

_lock = threading.Lock()  # guards _stats (done callbacks may run on several loops' threads)
_stats: dict[tuple[str, str, int], list[int]] = {}  # (qualname, file, line) -> [tasks, wall_ns, max_ns]
_active = False  # recording tasks (between install() and collect())
_patched: Any = None  # the original BaseDefaultEventLoopPolicy.new_event_loop


def _code_key(coro: Any) -> tuple[str, str, int]:
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    if code is None:
        name = getattr(type(coro), "__qualname__", "awaitable")
        return (name, "~", 0)
    return (getattr(code, "co_qualname", code.co_name), code.co_filename, code.co_firstlineno)


def _record(key: tuple[str, str, int], created_ns: int) -> None:
    wall = time.perf_counter_ns() - created_ns
    with _lock:
        if not _active:
            return
        entry = _stats.setdefault(key, [0, 0, 0])
        entry[0] += 1
        entry[1] += wall
        entry[2] = max(entry[2], wall)


def _make_factory(previous: Any) -> Any:
    import asyncio

    def factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
        task = previous(loop, coro, **kwargs) if previous is not None else asyncio.Task(coro, loop=loop, **kwargs)
        if _active:
            key, created = _code_key(coro), time.perf_counter_ns()
            task.add_done_callback(lambda _task: _record(key, created))
        return task

    factory.pipegauge = True  # type: ignore[attr-defined]
    return factory


def _hook_asyncio(events: ModuleType) -> None:
    """Wrap the default policy's loop creation (once per process)."""
    global _patched
    if _patched is not None:
        return
    policy_class = events.BaseDefaultEventLoopPolicy
    original = policy_class.new_event_loop
    _patched = original

    def new_event_loop(self: Any) -> Any:
        loop = original(self)
        if _active:
            previous = loop.get_task_factory()
            if not getattr(previous, "pipegauge", False):
                loop.set_task_factory(_make_factory(previous))
        return loop

    policy_class.new_event_loop = new_event_loop


class _AsyncioFinder(importlib.abc.MetaPathFinder):
    """Hooks asyncio.events right after its first import."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        if fullname != "asyncio.events":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original_exec(module)
            _remove_finder()
            _hook_asyncio(module)

        loader.exec_module = exec_module  # type: ignore[method-assign] # this module's own loader
        return spec


_finder = _AsyncioFinder()


def _remove_finder() -> None:
    try:
        sys.meta_path.remove(_finder)
    except ValueError:
        pass


def install() -> None:
    """Start counting tasks (whole-process session start)."""
    global _active
    with _lock:
        _stats.clear()
        _active = True
    events = sys.modules.get("asyncio.events")
    if events is not None:
        _hook_asyncio(events)
    elif _patched is None and _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def collect() -> str | None:
    """Stop counting; the metadata value (JSON), or None when no task ran."""
    global _active
    with _lock:
        _active = False
        rows = [{"coroutine": name, "file": file, "line": line, "tasks": tasks, "wall_ns": wall,
                 "max_wall_ns": longest}
                for (name, file, line), (tasks, wall, longest) in sorted(_stats.items())]
        _stats.clear()
    _remove_finder()
    return json.dumps(rows) if rows else None


def snapshot() -> str | None:
    """The metadata value so far, counting on (for periodic flushes)."""
    with _lock:
        rows = [{"coroutine": name, "file": file, "line": line, "tasks": tasks, "wall_ns": wall,
                 "max_wall_ns": longest}
                for (name, file, line), (tasks, wall, longest) in sorted(_stats.items())]
    return json.dumps(rows) if rows else None
