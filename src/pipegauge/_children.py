"""Child processes: each profiles itself into the parent's run directory,
and the parent merges them when its run ends.

A whole-process session (``pipegauge run``, ``pipegauge.start()``) puts the
run's ``processes/`` directory and its options in the environment
(``PIPEGAUGE_CHILD_DIR``, ``PIPEGAUGE_CHILD_OPTIONS``) and hooks
multiprocessing so that every worker starts profiling itself:

- fork: a ``multiprocessing.util.register_after_fork`` callback, run by the
  worker's bootstrap after the inherited session was detached (see
  ``_session._after_fork_in_child``);
- spawn: the worker's command line imports this module first (its import
  registers the same callback in the fresh interpreter);
- forkserver: this module is added to the fork server's preload list, so the
  server registers the callback and its forks inherit it.

With ``--subprocess`` a directory holding a ``sitecustomize.py`` is put on
``PYTHONPATH``: any Python program the program starts profiles itself from
its first line (and then runs the real sitecustomize, if there is one).

Each child writes ``processes/<pid>.pgprof``: once when it starts, every
flush interval (atomic replace), and at its end (worker exit via a
multiprocessing finaliser, interpreter exit, SIGTERM). At its end the parent
reads them all: a child whose last file is a final one is "finished"; one
whose process is gone without a final file is "lost" (killed: its last flush
is merged); one still running is "running" (its last flush is merged). The
merge itself is C (``Profile.merge``); the merged profile gets a process table
(the PRCS section) and the parent's own profile is kept beside the
children's as ``processes/<parent pid>.pgprof``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._importhook import cancel, when_imported
from ._log import logger

if TYPE_CHECKING:
    from ._run import Run
    from ._session import Session

ENV_DIR = "PIPEGAUGE_CHILD_DIR"  # the run's processes/ directory (absolute)
ENV_OPTIONS = "PIPEGAUGE_CHILD_OPTIONS"  # Options.to_json() of the parent
PROCESSES_SUBDIR = "processes"
ACTIVE_MARKER = ".active"  # in processes/ while the parent's run is open: a worker
# started later (by a fork server that outlived the run) does not profile itself
FINAL_REASON_KEY = "end_reason"
RUNNING_PREFIX = "running"  # end_reason of a periodic snapshot
STATE_FINISHED, STATE_LOST, STATE_RUNNING = 0, 1, 2
STATE_NAMES = {STATE_FINISHED: "finished", STATE_LOST: "lost", STATE_RUNNING: "running"}

_SITECUSTOMIZE = '''\
# Written by pipegauge (--subprocess): profile this Python process into the
# parent's run, then run the sitecustomize this one hides, if any.
import os as _os
import sys as _sys


def _pipegauge_boot():
    try:
        import pipegauge._children
        pipegauge._children.start_subprocess()
    except Exception:
        pass
    here = _os.path.dirname(_os.path.abspath(__file__))
    kept = list(_sys.path)
    _sys.path[:] = [entry for entry in _sys.path if _os.path.abspath(entry or ".") != here]
    _sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401 - the real one, if there is one
    except ImportError:
        pass
    finally:
        _sys.path[:] = kept


_pipegauge_boot()
'''


class _Anchor:
    """The object register_after_fork keys its callback on (kept alive here)."""


_ANCHOR = _Anchor()
_hooks_installed = False
_patched_command_line: Any = None  # the original multiprocessing.spawn.get_command_line


# -- in every process that may start children --------------------------------


def _on_multiprocessing_import(module: ModuleType) -> None:
    if os.environ.get(ENV_DIR):
        _install_multiprocessing_hooks()


def _install_multiprocessing_hooks() -> None:
    """Make workers started from this process profile themselves (idempotent)."""
    global _hooks_installed, _patched_command_line
    if _hooks_installed:
        return
    _hooks_installed = True
    import multiprocessing.spawn
    import multiprocessing.util

    multiprocessing.util.register_after_fork(_ANCHOR, _start_worker)
    original = multiprocessing.spawn.get_command_line
    _patched_command_line = original

    def get_command_line(**kwds: Any) -> list[str]:
        command = original(**kwds)
        if os.environ.get(ENV_DIR) and "-c" in command:
            at = command.index("-c") + 1
            command[at] = ("try:\n    import pipegauge._children\nexcept Exception:\n    pass\n"
                           + command[at])
        return command

    multiprocessing.spawn.get_command_line = get_command_line
    try:
        import multiprocessing.forkserver as forkserver

        preload = forkserver._forkserver._preload_modules
        if __name__ not in preload:
            preload.append(__name__)
    except (ImportError, AttributeError):  # no fork server on this platform
        pass


def _uninstall_multiprocessing_hooks() -> None:
    """Stop propagating to workers started from now on (the parent's run ended)."""
    global _hooks_installed, _patched_command_line
    cancel("multiprocessing", _on_multiprocessing_import)
    if not _hooks_installed:
        return
    _hooks_installed = False
    import multiprocessing.spawn

    if _patched_command_line is not None:
        multiprocessing.spawn.get_command_line = _patched_command_line
        _patched_command_line = None
    try:
        import multiprocessing.forkserver as forkserver

        preload = forkserver._forkserver._preload_modules
        if __name__ in preload:
            preload.remove(__name__)
    except (ImportError, AttributeError):
        pass
    # the after-fork registry has no removal: _start_worker checks the environment


# -- in a child ------------------------------------------------------------------


def _child_session(role: str, name: str) -> Session | None:
    """Start profiling this process into the parent's processes/ directory."""
    directory = os.environ.get(ENV_DIR)
    if not directory or not os.path.exists(os.path.join(directory, ACTIVE_MARKER)):
        return None
    from . import _session
    from ._run import _options_from_meta

    running = _session.current()
    if running is not None and running.running:
        return None
    options = _options_from_meta({"options": os.environ.get(ENV_OPTIONS, "{}")})
    options = dataclasses.replace(options, output_dir=None, name=name)
    path = Path(directory) / f"{os.getpid()}.pgprof"
    session = _session.Session(options, name=name, argv=list(sys.argv), source_dir=None,
                               writer=lambda run: _write_child(run, path), children=False)
    session.recording.extra_meta.update({"process_role": role, "parent_pid": str(os.getppid())})
    try:
        _session.begin(session)
    except Exception as exc:  # noqa: BLE001 - a worker must run even when profiling cannot
        logger.warning(f"child process {os.getpid()} not profiled: {exc}")
        return None
    session.flush_now()  # so a worker killed before its first flush is still known
    return session


def _write_child(run: Run, path: Path) -> Path:
    profile = run.profile
    assert profile is not None
    profile.write(os.fspath(path))
    return path


def _start_worker(anchor: object) -> None:
    """register_after_fork callback: runs in each fork or forkserver worker's
    bootstrap, before its target (spawned workers never run it)."""
    if not os.environ.get(ENV_DIR):
        return
    import multiprocessing

    process = multiprocessing.current_process()
    method = (getattr(process, "_start_method", None)
              or multiprocessing.get_start_method(allow_none=True) or "fork")
    parent = multiprocessing.parent_process()  # the fork server's forks: not the OS parent
    _begin_worker(f"worker ({method})", process.name, parent.pid if parent is not None else None)


def _begin_worker(role: str, name: str, parent_pid: int | None = None) -> None:
    import multiprocessing.util

    session = _child_session(role, name)
    if session is None:
        return
    if parent_pid:
        session.recording.extra_meta["parent_pid"] = str(parent_pid)
    # 3.13+ fork workers leave through atexit (multiprocessing runs it), up to
    # 3.12 through the finaliser below: the same reason either way.
    session.set_exit_reason("worker exit")

    def finish() -> None:
        session.stop("worker exit")

    # Workers leave by os._exit after their bootstrap's finalisers: atexit
    # never runs there, this does (last: priority below every other).
    multiprocessing.util.Finalize(None, finish, exitpriority=-1000)


def start_subprocess() -> None:
    """From the --subprocess sitecustomize: profile this Python program,
    unless it is a multiprocessing worker or helper (handled above)."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if "--multiprocessing-fork" in argv:
        return
    if "-c" in argv:
        code = argv[argv.index("-c") + 1] if argv.index("-c") + 1 < len(argv) else ""
        if "multiprocessing." in code:  # fork server, resource tracker, spawn worker
            return
    name = os.path.splitext(os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else "python"))[0]
    _child_session("subprocess", name or "python")


# -- in the parent ----------------------------------------------------------------------


class ParentHooks:
    """Children of one whole-process session: set up at its start, merged at its end."""

    def __init__(self, directory: Path, options_json: str, subprocess: bool) -> None:
        self.directory = directory / PROCESSES_SUBDIR  # where every process writes
        self._options_json = options_json
        self._subprocess = subprocess
        self._saved_env: dict[str, str | None] = {}
        self._boot_dir: tempfile.TemporaryDirectory[str] | None = None

    def install(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for stale in self.directory.glob("*.pgprof"):  # an output directory used before
            stale.unlink()
        (self.directory / ACTIVE_MARKER).touch()
        self._set_env(ENV_DIR, str(self.directory.resolve()))
        self._set_env(ENV_OPTIONS, self._options_json)
        if self._subprocess:
            self._boot_dir = tempfile.TemporaryDirectory(prefix="pipegauge-boot-")
            Path(self._boot_dir.name, "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
            path = os.environ.get("PYTHONPATH")
            self._set_env("PYTHONPATH", self._boot_dir.name + (os.pathsep + path if path else ""))
        # multiprocessing costs ~15 ms to import: hooked when the program imports it
        when_imported("multiprocessing", _on_multiprocessing_import)

    def _set_env(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def uninstall(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}
        _uninstall_multiprocessing_hooks()

    def finish(self, run: Run, *, at_exit: bool) -> None:
        """Merge every child's profile into run's (the parent's); called
        after the parent stopped tracing, before its run is written."""
        self.uninstall()
        if at_exit:
            _end_multiprocessing_children()
        try:
            (self.directory / ACTIVE_MARKER).unlink()
        except OSError:
            pass
        children = sorted(path for path in self.directory.glob("*.pgprof")
                          if path.stem.isdigit() and int(path.stem) != os.getpid())
        if self._boot_dir is not None:
            self._boot_dir.cleanup()
        if not children:
            _remove_if_empty(self.directory)
            return
        merge_children(run, children, self.directory)


def _end_multiprocessing_children() -> None:
    """At the program's end, do now what interpreter exit would do next:
    run multiprocessing's exit function, which shuts pools down, terminates
    daemonic workers (they write their profile on SIGTERM) and joins the rest."""
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return
    try:
        util._exit_function()
    except Exception as exc:  # noqa: BLE001 - never fail the parent's run over it
        logger.info(f"multiprocessing exit function failed: {exc}")


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass


def _process_alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            fields = stream.read().rsplit(b")", 1)[1].split()
        return fields[0] != b"Z"
    except (OSError, IndexError):
        return False


def child_state(meta: dict[str, str], pid: int) -> int:
    if not meta.get(FINAL_REASON_KEY, RUNNING_PREFIX).startswith(RUNNING_PREFIX):
        return STATE_FINISHED
    return STATE_RUNNING if _process_alive(pid) else STATE_LOST


def merge_children(run: Run, children: list[Path], directory: Path) -> None:
    """Add each child's profile into run.profile, with the process table."""
    from . import _core

    profile = run.profile
    assert profile is not None
    log = run.log
    own = directory / f"{os.getpid()}.pgprof"
    try:
        profile.write(os.fspath(own))  # the parent alone, for `view --pid`
    except OSError as exc:
        log.warning(f"parent's own profile not written to {own}: {exc}")
    profile.add_process(profile, pid=os.getpid(), parent_pid=os.getppid(), role="main",
                        state=STATE_FINISHED)
    counts = {STATE_FINISHED: 0, STATE_LOST: 0, STATE_RUNNING: 0}
    for path in children:
        pid = int(path.stem)
        try:
            child = _core.Profile.read(os.fspath(path))
        except (OSError, _core.FormatError) as exc:
            log.warning(f"child process {pid}: profile unreadable, not merged: {exc}")
            continue
        meta = child.meta
        state = child_state(meta, pid)
        parent_pid = int(meta.get("parent_pid", "0") or 0)
        profile.merge(child)
        profile.add_process(child, pid=pid, parent_pid=parent_pid,
                            role=meta.get("process_role", "child"), state=state)
        counts[state] += 1
        if state == STATE_LOST:
            log.warning(f"child process {pid} ({meta.get('process_role', 'child')}) was lost "
                        f"(killed?): its data up to its last flush is merged")
        elif state == STATE_RUNNING:
            log.warning(f"child process {pid} was still running: its last flush is merged")
    profile.set_meta("processes", str(1 + sum(counts.values())))
    log.info(f"merged {sum(counts.values())} child processes: {counts[STATE_FINISHED]} finished, "
             f"{counts[STATE_LOST]} lost, {counts[STATE_RUNNING]} still running")


# A spawned worker imports this module before anything else (see
# get_command_line above): it starts profiling here, before it unpickles its
# task (its bootstrap runs no after-fork callbacks). The fork server preloads
# this module: the callback registered here runs in each of its forks.
if os.environ.get(ENV_DIR):
    if sys.argv[-1:] == ["--multiprocessing-fork"]:
        _install_multiprocessing_hooks()
        _begin_worker("worker (spawn)", "SpawnProcess")
    else:  # the fork server, or a --subprocess child
        when_imported("multiprocessing", _on_multiprocessing_import)
