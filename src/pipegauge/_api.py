"""``pipegauge.profile``: a decorator and a context manager around one run."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, overload

from . import _core
from ._config import build_options
from ._options import Options
from ._recording import Recording
from ._run import Run
from ._history_record import record_run
from ._rundir import PROFILE_FILE, new_run_dir, write_run_dir
from ._units import format_duration_s

F = TypeVar("F", bound=Callable[..., Any])


class ProfileBlock:
    """``with pipegauge.profile(**options) as run:`` and, used as a decorator,
    a run per top-level call of the function.

    The context form writes nothing unless ``output_dir`` is given or the
    caller calls ``run.save(path)``. Each ``with`` creates a new Run.
    """

    def __init__(self, options: Options, *, default_name: str = "profile") -> None:
        self.options = options
        self.run: Run | None = None  # the run of the latest (or current) block
        self._default_name = default_name
        self._recording: Recording | None = None

    def __enter__(self) -> Run:
        if _core.active():
            raise RuntimeError("pipegauge: profiling is already active in this process "
                               "(pipegauge.start(), pipegauge run, or another profile block)")
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        recording = Recording(
            self.options,
            name=self.options.name or self._default_name,
            argv=list(sys.argv),
            source_dir=os.path.dirname(os.path.abspath(main_file)) if main_file else None,
        )
        recording.check_output(default_root=False)
        recording.begin()
        self._recording = recording
        self.run = recording.run
        return recording.run

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        recording = self._recording
        self._recording = None
        if recording is None:
            return
        reason = "returned" if kind is None else f"raised {kind.__name__}"
        run = recording.end(reason)
        if self.options.output_dir is not None:
            run.path = write_run_dir(run, Path(self.options.output_dir))
            record_run(run, run.path / PROFILE_FILE)

    def __call__(self, func: F) -> F:
        """Decorate func: each top-level call is profiled and its run written."""
        return _decorate(func, self.options)


def _finish_call(block: ProfileBlock, wrapper: Any) -> None:
    """Write a decorated call's run (output_dir, or a new run directory) and
    say where it went on stderr."""
    run = block.run
    if run is None or not run.finished:
        return
    wrapper.last_run = run
    try:
        if run.path is None:
            run.path = write_run_dir(run, new_run_dir(run.name, time.time()))
            record_run(run, run.path / PROFILE_FILE)
        where = str(run.path)
    except OSError as exc:
        where = f"not written ({exc.strerror or exc})"
    print(f"pipegauge: {run.name} took {format_duration_s(run.duration)}; run: {where}",
          file=sys.stderr)


def _decorate(func: F, options: Options) -> F:
    name: str = options.name or getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or "profile"

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if _core.active():  # nested, recursive, or inside a whole-process run
                return await func(*args, **kwargs)
            block = ProfileBlock(options, default_name=name)
            try:
                with block:
                    return await func(*args, **kwargs)
            finally:
                _finish_call(block, async_wrapper)

        async_wrapper.last_run = None  # type: ignore[attr-defined]
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _core.active():  # nested, recursive, or inside a whole-process run
            return func(*args, **kwargs)
        block = ProfileBlock(options, default_name=name)
        try:
            with block:
                return func(*args, **kwargs)
        finally:
            _finish_call(block, wrapper)

    wrapper.last_run = None  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@overload
def profile(func: F, /) -> F: ...
@overload
def profile(
    *,
    output_dir: str | os.PathLike[str] | None = None,
    name: str | None = None,
    builtins: bool = True,
    exact_builtins: bool = False,
    include_stdlib: bool = False,
    ignore_modules: tuple[str, ...] | list[str] | str = (),
    correct_overhead: bool = True,
    config: str | os.PathLike[str] | None = None,
    history: bool = True,
    history_path: str | os.PathLike[str] | None = None,
    memory: bool = True,
    cpu: bool = True,
    io: bool = True,
    lines: bool = False,
    lines_for: tuple[str, ...] | list[str] | str = (),
    lines_threshold: float = 0.05,
    mode: str = "deterministic",
    sample_hz: float = 1000.0,
    sample_clock: str = "wall",
) -> ProfileBlock: ...


def profile(func: Any = None, /, *, config: str | os.PathLike[str] | None = None,
            **options: Any) -> Any:
    """Profile a function (``@profile`` or ``@profile(**options)``) or a block
    (``with profile(**options) as run:``). Options as for ``pipegauge.start``
    (keyword options over PIPEGAUGE_* variables over the configuration file)."""
    block = ProfileBlock(build_options(options, config=config)[0])
    if func is None:
        return block
    if not callable(func):
        raise TypeError("pipegauge.profile takes a function, or keyword options only")
    return block(func)
