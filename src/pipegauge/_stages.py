"""``pipegauge.stage``: declare the stages of a pipeline.

The counting is in C (``_core.StageIterator``, ``_core.StageAwaitable``,
``_core.StageAsyncGen``, ``_core.stage_call``); this module only picks the
right wrapper for what is decorated. Stages count whether or not a
profile is being recorded; a run (``pipegauge run``, ``pipegauge.start``,
``pipegauge.profile``) zeroes the counters when it starts and stores them
in its profile when it stops.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from . import _core

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def _wrap_upstream(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """A generator stage's first argument, when it is a plain iterator, is
    wrapped in a counting proxy so that its records in are the items it
    pulls. Stage iterators count themselves; other objects (lists, files)
    are left alone."""
    if not args:
        return args
    first = args[0]
    if isinstance(first, _core.StageIterator) or not isinstance(first, Iterator):
        return args
    if not (inspect.isgenerator(first) or type(first).__module__ in ("builtins", "itertools")):
        return args
    return (_core.StageIterator(-1, first, proxy=True), *args[1:])


class stage:  # noqa: N801 - used like a function: @stage("parse"), with stage("load")
    """A named pipeline stage.

    ``@stage("name")`` decorates a plain function, a generator function, an
    async function or an async generator function; ``with stage("name") as
    s:`` times a block, with ``s.add_records(n)`` and ``s.add_bytes(n)`` for
    explicit counts; ``stage.iter(iterable, "name")`` wraps an iterator
    passed between stages.
    """

    __slots__ = ("index", "name")

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"a stage name is a str, not {type(name).__name__}")
        self.name = name
        self.index: int = _core.stage_intern(name)

    def __repr__(self) -> str:
        return f"stage({self.name!r})"

    # -- decorator ---------------------------------------------------------

    def __call__(self, func: F) -> F:
        if not callable(func):
            raise TypeError("@stage(name) decorates a function")
        index = self.index
        if inspect.isasyncgenfunction(func):
            @functools.wraps(func)
            def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
                return _core.StageAsyncGen(index, func(*args, **kwargs))
            return agen_wrapper  # type: ignore[return-value]
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                records_in = len(args[0]) if args and _sized(args[0]) else -1
                return await _core.StageAwaitable(index, func(*args, **kwargs), records_in)
            return async_wrapper  # type: ignore[return-value]
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                return _core.StageIterator(index, func(*_wrap_upstream(args), **kwargs))
            return gen_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return _core.stage_call(index, func, args, kwargs)
        return wrapper  # type: ignore[return-value]

    # -- with-block --------------------------------------------------------

    def __enter__(self) -> stage:
        _core.stage_enter(self.index)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        _core.stage_exit(self.index, kind is not None)

    def add_records(self, n: int, out: int | None = None) -> None:
        """Count n records through this stage (in and out; out may differ,
        e.g. for a filter). Inside the stage's active with-block or call on
        this thread they replace the counts pipegauge would infer."""
        _core.stage_add(self.index, _count(n), _count(n if out is None else out), 0)

    def add_bytes(self, n: int) -> None:
        """Count n bytes processed by this stage."""
        _core.stage_add(self.index, 0, 0, _count(n))

    # -- iterators ---------------------------------------------------------

    @staticmethod
    def iter(iterable: Iterable[T], name: str) -> Iterator[T]:
        """Wrap iterable as the stage name: each item is a record out, and the
        time inside its ``__next__`` is that stage's (the consumer waits on
        its upstream meanwhile)."""
        return _core.StageIterator(stage(name).index, iterable)  # type: ignore[no-any-return]

    @staticmethod
    def current_add_records(n: int, out: int | None = None) -> None:
        """Explicit counts for the innermost stage running on this thread
        (for a decorated function that knows its record count)."""
        _core.stage_add(-1, _count(n), _count(n if out is None else out), 0)

    @staticmethod
    def current_add_bytes(n: int) -> None:
        """Bytes for the innermost stage running on this thread."""
        _core.stage_add(-1, 0, 0, _count(n))

    @staticmethod
    def snapshot() -> _core.Profile:
        """The stage counters since the last run started (or since
        ``stage.reset()``), without recording a profile."""
        return _core.stage_snapshot()

    @staticmethod
    def reset() -> None:
        """Zero every stage counter (names stay registered)."""
        _core.stage_reset()


def _sized(value: Any) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, (str, bytes, bytearray))


def _count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"a count is a non-negative int, not {n!r}")
    return n
