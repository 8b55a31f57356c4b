"""The program ``pipegauge run`` profiles: a script file or ``-m module``.

It is prepared (found, compiled) before tracing starts, so a missing file or
module is one clear error and the cost of compiling is not profiled. Running
it gives the program what ``python script.py`` / ``python -m module`` would:
its own argv, ``__name__ == "__main__"``, sys.path[0], sys.modules["__main__"].
"""

from __future__ import annotations

import builtins
import importlib.machinery
import importlib.util
import io
import os
import runpy
import sys
import types
import zipfile
from collections.abc import Sequence
from types import CodeType, TracebackType

from .._errors import UsageError
from .._options import PACKAGE_DIR


def _set_path0(entry: str) -> None:
    """Replace the sys.path entry Python added for pipegauge itself (unless
    -P/PYTHONSAFEPATH asked Python to add none)."""
    if getattr(sys.flags, "safe_path", False):
        return
    if sys.path:
        sys.path[0] = entry
    else:
        sys.path.insert(0, entry)


class ProgramError(Exception):
    """The program failed before it started (e.g. importing its package raised);
    the original exception is ``__cause__``."""


class Target:
    """What to run; subclasses know how."""

    display: str  # as the user named it: "etl.py" or "-m etl.main"
    name: str  # default run name
    source_dir: str | None  # where to look for a git checkout

    def prepare(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def execute(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def argv(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError


class ScriptTarget(Target):
    def __init__(self, path: str, program_args: Sequence[str]) -> None:
        self.path = path  # as typed: becomes sys.argv[0]
        self.abspath = os.path.abspath(path)  # __file__ and co_filename, as CPython 3.9+
        self.program_args = list(program_args)
        self.display = path
        stem = os.path.splitext(os.path.basename(self.abspath.rstrip(os.sep)))[0]
        self.name = stem or "script"
        self.source_dir = os.path.dirname(self.abspath)
        self._code: CodeType | None = None
        self._runpy_path = False  # a directory or zip with __main__.py

    @property
    def argv(self) -> list[str]:
        return [self.path, *self.program_args]

    def prepare(self) -> None:
        if not os.path.exists(self.path):
            raise UsageError(f"cannot open script {self.path!r}: no such file")
        if os.path.isdir(self.path) or zipfile.is_zipfile(self.path):
            self._runpy_path = True
            self.source_dir = self.abspath if os.path.isdir(self.path) else self.source_dir
            return
        try:
            with io.open_code(self.abspath) as handle:
                source = handle.read()
        except OSError as exc:
            raise UsageError(f"cannot open script {self.path!r}: {exc.strerror or exc}") from None
        # SyntaxError propagates: the caller prints it as Python would.
        self._code = compile(source, self.abspath, "exec", dont_inherit=True)

    def execute(self) -> None:
        sys.argv = self.argv
        if self._runpy_path:
            _set_path0(self.path)
            runpy.run_path(self.path, run_name="__main__")
            return
        assert self._code is not None, "prepare() first"
        _set_path0(self.source_dir or "")
        main = types.ModuleType("__main__")
        main.__file__ = self.abspath
        main.__cached__ = None  # type: ignore[attr-defined]
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", self.abspath)
        main.__builtins__ = builtins  # type: ignore[attr-defined]
        sys.modules["__main__"] = main
        exec(self._code, main.__dict__)  # noqa: S102 - running the user's program is the point


class ModuleTarget(Target):
    def __init__(self, module: str, program_args: Sequence[str]) -> None:
        self.module = module
        self.program_args = list(program_args)
        self.display = f"-m {module}"
        self.name = module
        self.source_dir = os.getcwd()
        self._origin: str | None = None

    @property
    def argv(self) -> list[str]:
        return [self._origin or self.module, *self.program_args]

    def prepare(self) -> None:
        _set_path0(os.getcwd())  # as `python -m`, before looking the module up
        sys.argv = ["-m", *self.program_args]  # what the package's __init__ sees, as in CPython
        spec = self._find(self.module)
        if spec.submodule_search_locations is not None:
            main_name = f"{self.module}.__main__"
            main_spec = self._find(main_name, package=self.module)
            spec = main_spec
        if spec.loader is None:
            raise UsageError(f"module {self.module!r} has no code to run")
        self._origin = spec.origin if spec.has_location else None
        if self._origin:
            self.source_dir = os.path.dirname(os.path.abspath(self._origin))

    def _find(self, name: str, package: str | None = None) -> importlib.machinery.ModuleSpec:
        if not name or name.startswith("."):
            raise UsageError(f"relative module names are not supported: {name!r}")
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        except Exception as exc:  # the program's package raised while importing
            raise ProgramError(str(exc)) from exc
        if spec is None:
            if package is not None:
                raise UsageError(f"{package!r} is a package and cannot be run directly "
                                 f"(it has no __main__ module)")
            raise UsageError(f"no module named {name!r}")
        return spec

    def execute(self) -> None:
        sys.argv = ["-m", *self.program_args]
        runpy.run_module(self.module, run_name="__main__", alter_sys=True)


def make_target(script: str | None, module: str | None, program_args: Sequence[str]) -> Target:
    if module is not None:
        return ModuleTarget(module, program_args)
    if script is None:
        raise UsageError("run: give a script (pipegauge run script.py) or a module (pipegauge run -m module)")
    return ScriptTarget(script, program_args)


def program_traceback(traceback: TracebackType | None) -> TracebackType | None:
    """traceback without the leading frames of pipegauge and runpy, so the
    program's error looks as it would without the profiler."""
    runpy_file = getattr(runpy, "__file__", None) or ""
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        ours = (filename.startswith(PACKAGE_DIR + os.sep) or filename == runpy_file
                or filename.startswith("<frozen runpy"))
        if not ours:
            break
        traceback = traceback.tb_next
    return traceback


def print_exception(exc: BaseException) -> None:
    """Print exc through sys.excepthook (the program may have replaced it)."""
    traceback = program_traceback(exc.__traceback__)
    try:
        exc.__traceback__ = traceback
    except (AttributeError, TypeError):
        pass
    sys.excepthook(type(exc), exc, traceback)
