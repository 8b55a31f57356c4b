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

asyncio is not imported for this: the hook is installed right after the
program first imports ``asyncio.events`` (see _importhook). A task factory that the program sets itself replaces ours (its
tasks are then not counted); one set before ours is wrapped.
"""

from __future__ import annotations

import json
import threading
import time
from types import ModuleType
from typing import Any

from ._importhook import cancel, when_imported

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


def install() -> None:
    """Start counting tasks (whole-process session start)."""
    global _active
    with _lock:
        _stats.clear()
        _active = True
    if _patched is None:
        when_imported("asyncio.events", _hook_asyncio)


def collect() -> str | None:
    """Stop counting; the metadata value (JSON), or None when no task ran."""
    global _active
    with _lock:
        _active = False
        rows = [{"coroutine": name, "file": file, "line": line, "tasks": tasks, "wall_ns": wall,
                 "max_wall_ns": longest}
                for (name, file, line), (tasks, wall, longest) in sorted(_stats.items())]
        _stats.clear()
    cancel("asyncio.events", _hook_asyncio)
    return json.dumps(rows) if rows else None


def snapshot() -> str | None:
    """The metadata value so far, counting on (for periodic flushes)."""
    with _lock:
        rows = [{"coroutine": name, "file": file, "line": line, "tasks": tasks, "wall_ns": wall,
                 "max_wall_ns": longest}
                for (name, file, line), (tasks, wall, longest) in sorted(_stats.items())]
    return json.dumps(rows) if rows else None
