"""pytest plugin (registered by the ``pytest11`` entry point).

- ``pytest --pipegauge``: profile the call phase of every test and write a run
  directory per test under ``.pipegauge/runs/`` (or ``--pipegauge-dir DIR``);
  the slowest tests are listed at the end of the session.
- ``@pytest.mark.pipegauge(max_time_ms=..., max_p95_ms=..., max_alloc_mb=...,
  max_calls={"pkg.mod:func": N})``: the test is profiled (with or without
  ``--pipegauge``) and fails when a budget is exceeded, with a message naming
  the budget, the measured value and the top contributors.
- ``pipegauge_run`` fixture: the test's live run; ``stats()``, ``calls(spec)``
  and ``duration`` read a snapshot of what has been recorded so far.

Only the call phase is profiled (not fixtures' setup and teardown). A test
run under whole-process profiling (``pipegauge run -m pytest``) is not
profiled again: its time is in the outer run.
"""

from __future__ import annotations

import importlib
import os
import time
import warnings
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import _core
from ._api import ProfileBlock
from ._config import build_options
from ._run import Run
from ._rundir import new_run_dir, safe_name, write_run_dir
from ._stats import FunctionStats
from ._units import format_duration_s

MB = 1024 * 1024
BUDGETS = ("max_time_ms", "max_p95_ms", "max_alloc_mb", "max_calls")
TOP_CONTRIBUTORS = 5
SLOWEST_SHOWN = 10

_ITEM_KEY = pytest.StashKey["TestProfile"]()
_SESSION_KEY = pytest.StashKey[list]()  # (duration, nodeid, run path) per profiled test
_MERGED_KEY = pytest.StashKey[list]()  # [Run] holding the merged profile, with --pipegauge-merged


class BudgetError(ValueError):
    """A marker argument that is not a valid budget."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pipegauge", "pipegauge profiling")
    group.addoption("--pipegauge", action="store_true", default=False,
                    help="profile every test and write a pipegauge run per test")
    group.addoption("--pipegauge-dir", metavar="DIR", default=None,
                    help="write the per-test runs under DIR (default .pipegauge/runs)")
    group.addoption("--pipegauge-merged", action="store_true", default=False,
                    help="with --pipegauge: write one run with every test merged instead of one per test")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pipegauge(max_time_ms=None, max_p95_ms=None, max_alloc_mb=None, max_calls=None): "
        "profile the test with pipegauge and fail it when a budget is exceeded")
    config.stash[_SESSION_KEY] = []
    config.stash[_MERGED_KEY] = []


# -- the per-test profile ------------------------------------------------------


@dataclass
class TestProfile:
    """What the plugin knows about one test: its budgets and its run."""

    budgets: dict[str, Any] = field(default_factory=dict)
    run: Run | None = None  # the finished run, after the call phase
    block: ProfileBlock | None = None  # live during the call phase

    def live_run(self) -> Run:
        """The finished run, or a snapshot of the live one."""
        if self.run is not None:
            return self.run
        if self.block is None or not _core.active():
            raise RuntimeError("pipegauge: the test is not being profiled")
        snapshot = Run(name="snapshot", options=self.block.options)
        snapshot.profile = _core.snapshot()
        return snapshot


class PipegaugeRun:
    """The ``pipegauge_run`` fixture: the current test's run."""

    def __init__(self, profile: TestProfile) -> None:
        self._profile = profile

    @property
    def run(self) -> Run:
        return self._profile.live_run()

    @property
    def duration(self) -> float:
        return self.run.duration

    def stats(self, sort: str = "tottime") -> list[FunctionStats]:
        return self.run.stats(sort)

    def calls(self, spec: str) -> int:
        """Calls of the function named "pkg.mod:qualname" so far."""
        return sum(item.calls for item in matching(self.stats(), spec))


def _marker_budgets(item: pytest.Item) -> dict[str, Any] | None:
    marker = item.get_closest_marker("pipegauge")
    if marker is None:
        return None
    if marker.args:
        raise BudgetError("pipegauge marker takes keyword budgets only")
    unknown = sorted(set(marker.kwargs) - set(BUDGETS))
    if unknown:
        raise BudgetError(f"unknown pipegauge budget {unknown[0]!r} (known: {', '.join(BUDGETS)})")
    budgets = {key: value for key, value in marker.kwargs.items() if value is not None}
    for key in ("max_time_ms", "max_p95_ms", "max_alloc_mb"):
        if key in budgets and (isinstance(budgets[key], bool) or not isinstance(budgets[key], (int, float))):
            raise BudgetError(f"pipegauge budget {key} must be a number, got {budgets[key]!r}")
    calls = budgets.get("max_calls")
    if calls is not None and not (isinstance(calls, Mapping)
                                  and all(isinstance(k, str) and ":" in k and isinstance(v, int)
                                          for k, v in calls.items())):
        raise BudgetError("pipegauge budget max_calls must be a dict {'pkg.mod:func': N}")
    return budgets


@pytest.fixture
def pipegauge_run(request: pytest.FixtureRequest) -> PipegaugeRun:
    """The current test's pipegauge run (the test is profiled when it asks for this)."""
    profile = request.node.stash.get(_ITEM_KEY, None)
    if profile is None:
        profile = TestProfile()
        request.node.stash[_ITEM_KEY] = profile
    return PipegaugeRun(profile)


def pytest_runtest_setup(item: pytest.Item) -> None:
    try:
        budgets = _marker_budgets(item)
    except BudgetError as exc:
        pytest.fail(f"{item.nodeid}: {exc}", pytrace=False)
    if budgets is not None or item.config.getoption("pipegauge"):
        item.stash[_ITEM_KEY] = TestProfile(budgets=budgets or {})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    profile = item.stash.get(_ITEM_KEY, None)
    if profile is None or _core.active():
        if profile is not None and profile.budgets:
            warnings.warn(pytest.PytestWarning(
                "pipegauge budgets not checked: the process is already being profiled"), stacklevel=1)
        return (yield)
    options, _ = build_options({"name": safe_name(f"test-{item.name}")}, explicit_source="pytest")
    profile.block = ProfileBlock(options)
    run = profile.block.__enter__()
    try:
        result = yield
    except BaseException as exc:
        profile.block.__exit__(type(exc), exc, None)
        profile.run = run
        _finish(item, profile)
        raise
    profile.block.__exit__(None, None, None)
    profile.run = run
    _finish(item, profile)
    failures = check_budgets(run, profile.budgets, test_function=_test_function(item))
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    return result


def _test_function(item: pytest.Item) -> tuple[str, str] | None:
    """(real file, qualified name) of the test function itself."""
    function = getattr(item, "obj", None)
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    return os.path.realpath(code.co_filename), getattr(function, "__qualname__", code.co_name)


def _finish(item: pytest.Item, profile: TestProfile) -> None:
    """Write the test's run directory when --pipegauge asks for it, and note
    its duration for the end-of-session list."""
    run = profile.run
    profile.block = None
    if run is None or not run.finished:
        return
    if item.config.getoption("pipegauge") and item.config.getoption("pipegauge_merged"):
        merged = item.config.stash[_MERGED_KEY]
        if merged:
            merged[0].profile.merge(run.profile)
        else:
            first = Run(name="pytest", options=run.options)
            first.profile = run.profile
            merged.append(first)
    elif item.config.getoption("pipegauge"):
        base = item.config.getoption("pipegauge_dir")
        try:
            directory = (new_run_dir(run.name, time.time(), base=None) if base is None
                         else _new_dir_under(Path(base), run.name))
            run.path = write_run_dir(run, directory)
        except OSError as exc:
            warnings.warn(pytest.PytestWarning(f"pipegauge run not written: {exc}"), stacklevel=1)
    item.config.stash[_SESSION_KEY].append((run.duration, item.nodeid, run.path))


def _new_dir_under(base: Path, name: str) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S") + "-" + name
    for attempt in range(1, 10_000):
        candidate = base / (stem if attempt == 1 else f"{stem}-{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise OSError(f"too many runs named {stem!r} in {base}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """--pipegauge-merged: write the one run of all tests."""
    config = session.config
    merged = config.stash.get(_MERGED_KEY, [])
    if not merged:
        return
    run = merged[0]
    base = config.getoption("pipegauge_dir")
    try:
        directory = (new_run_dir(run.name, time.time()) if base is None
                     else _new_dir_under(Path(base), run.name))
        run.path = write_run_dir(run, directory)
    except OSError as exc:
        warnings.warn(pytest.PytestWarning(f"pipegauge merged run not written: {exc}"), stacklevel=1)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not config.getoption("pipegauge"):
        return
    merged = config.stash.get(_MERGED_KEY, [])
    if merged and merged[0].path is not None:
        terminalreporter.write_line(f"pipegauge: all tests merged into {merged[0].path}")
    timings = sorted(config.stash.get(_SESSION_KEY, []), key=lambda entry: -entry[0])
    if not timings:
        return
    terminalreporter.section("pipegauge: slowest tests")
    for duration, nodeid, path in timings[:SLOWEST_SHOWN]:
        where = f"  {path}" if path is not None else ""
        terminalreporter.write_line(f"{format_duration_s(duration):>10}  {nodeid}{where}")


# -- budgets -----------------------------------------------------------------------


def _module_file(module_name: str) -> str | None:
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - a budget on a module that cannot be imported matches nothing
        return None
    file = getattr(module, "__file__", None)
    return os.path.realpath(file) if file else None


def matching(stats: list[FunctionStats], spec: str) -> list[FunctionStats]:
    """The Python functions named by "pkg.mod:qualname" (3.10 records only
    the last part of the qualified name)."""
    module_name, _, qualname = spec.partition(":")
    file = _module_file(module_name)
    if file is None:
        return []
    return [item for item in stats if _is_function(item, file, qualname)]


def _top(stats: list[FunctionStats]) -> str:
    lines = [f"    {format_duration_s(item.self_time):>10} self  {item.calls:>8} calls  {item.label}"
             for item in stats[:TOP_CONTRIBUTORS]]
    return "  top contributors (self time):\n" + "\n".join(lines)


def _is_function(item: FunctionStats, file: str, qualname: str) -> bool:
    if item.kind != "python" or item.name not in (qualname, qualname.rsplit(".", 1)[-1]):
        return False
    try:
        return os.path.realpath(item.file) == file
    except (OSError, ValueError):
        return False


def _check_alloc(stats: list[FunctionStats], limit: float) -> list[str]:
    """max_alloc_mb: heap bytes allocated during the test, every function's own
    allocations added up (memory attribution must be on)."""
    own = [(item.allocated_bytes, item) for item in stats if item.allocated_bytes is not None]
    if not own:
        warnings.warn(pytest.PytestWarning(
            "pipegauge budget max_alloc_mb not checked: memory attribution is off"), stacklevel=1)
        return []
    total = sum(value for value, _ in own)
    if total <= limit * MB:
        return []
    top = sorted(own, key=lambda pair: -pair[0])[:TOP_CONTRIBUTORS]
    lines = [f"    {value / MB:>10.1f} MB  {item.label}" for value, item in top]
    return [f"pipegauge budget max_alloc_mb={limit:g} exceeded: the test allocated "
            f"{total / MB:.1f} MB\n  top contributors (allocated):\n" + "\n".join(lines)]


def check_budgets(run: Run, budgets: Mapping[str, Any], *,
                  test_function: tuple[str, str] | None = None) -> list[str]:
    """One failure message per exceeded budget (empty when all hold).
    max_p95_ms applies to every function the test called, not to the test
    function itself (test_function: its file and qualified name)."""
    if not budgets:
        return []
    stats = run.stats("tottime")
    failures: list[str] = []
    limit = budgets.get("max_time_ms")
    if limit is not None and run.duration * 1e3 > limit:
        failures.append(f"pipegauge budget max_time_ms={limit:g} exceeded: "
                        f"the test took {run.duration * 1e3:.1f} ms")
    limit = budgets.get("max_p95_ms")
    if limit is not None:
        over = sorted((item for item in stats if item.p95 * 1e3 > limit
                       and not (test_function and _is_function(item, *test_function))),
                      key=lambda item: -item.p95)
        for item in over[:TOP_CONTRIBUTORS]:
            failures.append(f"pipegauge budget max_p95_ms={limit:g} exceeded: p95 of {item.label} is "
                            f"{item.p95 * 1e3:.2f} ms over {item.calls} calls")
    limit = budgets.get("max_alloc_mb")
    if limit is not None:
        failures.extend(_check_alloc(stats, limit))
    for spec, allowed in (budgets.get("max_calls") or {}).items():
        calls = sum(item.calls for item in matching(stats, spec))
        if calls > allowed:
            failures.append(f"pipegauge budget max_calls[{spec!r}]={allowed} exceeded: {calls} calls")
    if failures:
        failures.append(_top(stats))
    return failures
