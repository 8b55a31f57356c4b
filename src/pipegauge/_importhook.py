"""Run a callback right after a module is first imported, without importing
it ourselves (asyncio and multiprocessing cost 15-60 ms to import, and most
programs never use them).

One finder on ``sys.meta_path`` answers only for the watched names: it asks
the path finder for the real spec and wraps that spec's own loader's
``exec_module`` so the callbacks run once the module has executed. The
finder leaves ``sys.meta_path`` when nothing is watched any more.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

Callback = Callable[[ModuleType], None]

_lock = threading.Lock()  # guards _watched and the finder's place in sys.meta_path
_watched: dict[str, list[Callback]] = {}  # module name -> callbacks not run yet


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        with _lock:
            if fullname not in _watched:
                return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original(module)
            _fire(fullname, module)

        loader.exec_module = exec_module  # this spec's own loader instance
        return spec


_finder = _Finder()


def _fire(name: str, module: ModuleType) -> None:
    with _lock:
        callbacks = _watched.pop(name, [])
        if not _watched and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
    for callback in callbacks:
        try:
            callback(module)
        except Exception:  # noqa: BLE001, S110 - a failed hook must not break the program's import
            pass


def when_imported(name: str, callback: Callback) -> None:
    """Call callback(module) after name is imported; now if it already is."""
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    with _lock:
        _watched.setdefault(name, []).append(callback)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)


def cancel(name: str, callback: Callback) -> None:
    """Forget a callback that has not run yet."""
    with _lock:
        callbacks = _watched.get(name, [])
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            _watched.pop(name, None)
        if not _watched and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
