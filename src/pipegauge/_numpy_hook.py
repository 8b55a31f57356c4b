"""Attribute numpy array memory when numpy is imported after profiling began.

numpy's array buffers bypass Python's allocators; the C runtime wraps numpy's
data-memory handler (NEP 49) through numpy's C-API capsule, which exists only
once numpy is imported. A program usually imports numpy after ``pipegauge
run`` started, so a meta-path finder watches for the import of ``numpy`` and
calls ``_core._hook_numpy()`` right after the package has executed. It does
nothing else: the import itself is done by the finders that follow it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Sequence

from . import _core


class _HookingLoader(importlib.abc.Loader):
    """Wraps numpy's own loader; hooks the handler after the module ran."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _core._hook_numpy()

    def __getattr__(self, name: str) -> Any:  # is_package, get_code, ... for tools
        return getattr(self._loader, name)


class _NumpyFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of the ``numpy`` spec."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "numpy":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _HookingLoader(spec.loader)
                return spec
        return None


_finder = _NumpyFinder()


def install() -> None:
    """Hook numpy now if it is imported, else when it is."""
    if "numpy" in sys.modules:
        _core._hook_numpy()
    elif _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    try:
        sys.meta_path.remove(_finder)
    except ValueError:
        pass
