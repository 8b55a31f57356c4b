"""Whole-process profiling: ``pipegauge.start()``/``stop()`` and ``pipegauge run``.

One session per process. It is finalised (profile and run directory
written) exactly once, by whichever comes first: ``stop()``, interpreter
exit (atexit, which also covers sys.exit and unhandled exceptions), or a
terminating signal. For SIGTERM (and SIGINT/SIGHUP) whose previous handler
was the default action, the handler writes the run, restores the default
and re-sends the signal, so the exit status still says "killed by SIGTERM".
A handler the program installed before us is called instead (chained).
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from . import _core, _tasks
from ._config import build_options
from ._errors import PipegaugeError
from ._options import Options
from ._recording import Recording
from ._run import Run
from . import _diff  # noqa: F401 - see below
from . import _lineheat  # noqa: F401 - see below (its dataclasses, for the report)
from . import _findings  # noqa: F401 - see below (its dataclasses, for the report)
from ._history_record import record_run
from ._rundir import PROFILE_FILE, new_run_dir, write_run_dir

# Signals whose default action ends the process; SIGINT's usual handler is
# Python's default_int_handler, which we leave alone (see _install_signals).
_TERMINATING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)

FLUSH_INTERVAL_S = 60.0
"""A running session rewrites its run directory this often (atomic replace),
so a run killed by SIGKILL or the OOM killer still leaves a recent profile.
The environment variable PIPEGAUGE_FLUSH_INTERVAL (seconds; 0 = never)
overrides it."""

# _diff, _lineheat and _findings (used by the report at exit) are imported here, at start: defining a
# dataclass runs exec() on generated source, and an exec() during interpreter
# exit clears CPython's "unhandled KeyboardInterrupt" flag, so the process
# would exit with status 1 instead of dying by SIGINT.

SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Session:
    """A whole-process run. States: idle -> running -> stopping -> stopped."""

    def __init__(self, options: Options, *, name: str, argv: Sequence[str],
                 source_dir: str | None, writer: Callable[[Run], Path] | None = None,
                 children: bool = True) -> None:
        """writer: writes a run (the end, and periodic snapshots) and returns
        where; default: the run directory. children: profile multiprocessing
        workers (and, with options.subprocess, Python subprocesses) into this
        run and merge them at its end."""
        self.options = options
        self.recording = Recording(options, name=name, argv=argv, source_dir=source_dir)
        self.on_stop: list[Callable[[Run], None]] = []  # called after the run is written
        self.write_error: str | None = None  # why the run directory could not be written
        self._state = "idle"
        self._lock = threading.RLock()  # guards _state transitions; reentrant for signal handlers
        self._pid = os.getpid()  # a forked child must not finalise its parent's run
        self._previous_handlers: dict[int, SignalHandler] = {}  # signal -> handler we replaced
        self._handler = self._on_signal  # one bound method, so getsignal() compares equal
        self._previous_excepthook: Callable[..., Any] | None = None
        self._pending_signal: int | None = None  # arrived while stopping; re-sent after
        self._exit_reason = "interpreter exit"  # refined by the excepthook
        self._directory: Path | None = None  # the run directory, once chosen
        self._flush_stop = threading.Event()  # set when the session stops
        self._writer = writer
        self._track_children = children
        self.children: Any = None  # _children.ParentHooks, set up at start when tracking children  # set up at start when tracking children

    @property
    def run(self) -> Run:
        return self.recording.run

    @property
    def running(self) -> bool:
        return self._state == "running"

    def start(self) -> None:
        """Check the output, start tracing and install the exit hooks."""
        with self._lock:
            if self._state != "idle":
                return
            if self._writer is None:
                self.recording.check_output(default_root=True)
            # Hooks first: they must not count in the run's time.
            _tasks.install()
            if self._track_children:
                self._install_children()
            try:
                self.recording.begin()
            except BaseException:
                _tasks.collect()
                if self.children is not None:
                    self.children.uninstall()
                raise
            self._state = "running"
            atexit.register(self._at_exit)
            self._install_excepthook()
            self._install_signals()
            self._start_flusher()

    def stop(self, reason: str = "stop()") -> Run | None:
        """Stop tracing and write the run directory; the Run, or None when the
        session was not running (already stopped, or a forked child)."""
        with self._lock:
            if self._state != "running" or os.getpid() != self._pid:
                return None
            self._state = "stopping"
            try:
                run = self._finalise(reason)
            finally:
                self._state = "stopped"
                _forget(self)
        if run is None:
            return None
        for callback in self.on_stop:
            try:
                callback(run)
            except Exception as exc:  # noqa: BLE001 - a reporting failure must not mask the program's outcome
                print(f"pipegauge: error: {exc}", file=sys.stderr)
        if self._pending_signal is not None:
            _die_by_signal(self._pending_signal)
        return run

    def _run_directory(self) -> Path:
        """The run directory, created on first use (a flush or the end)."""
        if self._directory is None:
            if self.options.output_dir is not None:
                self._directory = Path(self.options.output_dir)
            else:
                self._directory = new_run_dir(self.run.name, self.recording.started_at or time.time())
        return self._directory

    def _write(self, run: Run) -> Path:
        if self._writer is not None:
            return self._writer(run)
        return write_run_dir(run, self._run_directory())

    def _install_children(self) -> None:
        from ._children import ParentHooks  # local: a spawned worker imports _children first

        try:
            hooks = ParentHooks(self._run_directory(), self.options.to_json(), self.options.subprocess)
            hooks.install()
        except Exception as exc:  # noqa: BLE001 - the parent's own profile matters more
            self.recording.log.warning(f"child processes will not be profiled: {exc}")
            return
        self.children = hooks

    def _finish_children(self, run: Run, reason: str) -> None:
        if self.children is None:
            return
        # At the program's end, workers are ended as interpreter exit would;
        # after stop() or on a signal they are left alone (never a wait).
        at_exit = reason != "stop()" and not reason.startswith("SIG")
        try:
            self.children.finish(run, at_exit=at_exit)
        except Exception as exc:  # noqa: BLE001 - the parent's own profile must still be written
            self.recording.log.warning(f"child processes not merged: {type(exc).__name__}: {exc}")

    def set_exit_reason(self, reason: str) -> None:
        """The end reason recorded when the interpreter exit ends the run."""
        self._exit_reason = reason

    def flush_now(self) -> None:
        """Write a snapshot of the running session now."""
        with self._lock:
            self._snapshot_locked("snapshot")

    def _snapshot_locked(self, what: str) -> bool:
        """Write a snapshot while running in the owning process (the caller
        holds self._lock). False when the session is no longer running here."""
        if self._state != "running" or os.getpid() != self._pid:
            return False
        try:
            self._note_tasks(final=False)
            self._write(self.recording.snapshot())
        except Exception as exc:  # noqa: BLE001 - a failed flush must not end the program
            self.recording.log.warning(f"{what} failed: {exc}")
        return True

    def _finalise(self, reason: str) -> Run | None:
        self._flush_stop.set()
        try:
            return self._finalise_run(reason)
        finally:
            # Only now: a SIGTERM that arrives while the run is written (a
            # pool terminating a worker that is already exiting) must reach
            # our handler, which defers it until the run is on disk.
            self._uninstall_hooks()

    def _note_tasks(self, final: bool) -> None:
        value = _tasks.collect() if final else _tasks.snapshot()
        if value is not None:
            self.recording.extra_meta[_tasks.META_KEY] = value

    def _finalise_run(self, reason: str) -> Run | None:
        self._note_tasks(final=True)
        try:
            run = self.recording.end(reason)
        except Exception as exc:  # noqa: BLE001 - at exit or in a signal handler: one line, no traceback
            print(f"pipegauge: error: could not stop the profiler: {exc}", file=sys.stderr)
            return None
        self._finish_children(run, reason)
        try:
            run.path = self._write(run)
        except (OSError, PipegaugeError) as exc:
            message = exc.message if isinstance(exc, PipegaugeError) else f"{exc.strerror or exc}"
            self.write_error = f"could not write the run: {message}"
            print(f"pipegauge: error: {self.write_error}", file=sys.stderr)
        else:
            record_run(run, run.path / PROFILE_FILE)  # after the profile: it cannot cost it
        return run

    def detach_after_fork(self) -> None:
        """In a forked child: stop tracing there and never write the parent's
        run; the child gets back the signal handlers and hooks it had before
        (a worker that profiles itself installs its own)."""
        self._state = "stopped"
        self._flush_stop.set()
        _tasks.collect()
        try:
            self._uninstall_hooks()
        except Exception:  # noqa: BLE001, S110 - the child must keep running regardless
            pass
        try:
            if _core.active():
                _core.stop()
        except Exception:  # noqa: BLE001, S110 - the child must keep running regardless
            pass

    # -- periodic flush ----------------------------------------------------

    def _start_flusher(self) -> None:
        try:
            interval = float(os.environ.get("PIPEGAUGE_FLUSH_INTERVAL", FLUSH_INTERVAL_S))
        except ValueError:
            interval = FLUSH_INTERVAL_S
        if interval <= 0:
            return
        thread = threading.Thread(target=self._flush_loop, args=(interval,),
                                  name="pipegauge-flush", daemon=True)
        thread.start()

    def _flush_loop(self, interval: float) -> None:
        # Process signals (SIGTERM from Pool.terminate, SIGINT...) must go to
        # the program's threads: delivered here, Python would only set a flag,
        # and a main thread blocked in a restarted wait (a sampling-mode timer
        # signal pending on it makes the kernel pick another thread) would
        # never run the handler.
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        while not self._flush_stop.wait(interval):
            with self._lock:  # never concurrent with stop(): a snapshot must not overwrite the end
                if not self._snapshot_locked("periodic snapshot"):
                    return

    # -- exit hooks ------------------------------------------------------

    def _at_exit(self) -> None:
        self.stop(self._exit_reason)

    def _install_excepthook(self) -> None:
        self._previous_excepthook = sys.excepthook
        sys.excepthook = self._excepthook

    def _excepthook(self, kind: type[BaseException], value: BaseException,
                    traceback: TracebackType | None) -> None:
        """Note why the program is about to end, then let the previous hook print."""
        self._exit_reason = f"unhandled {kind.__name__}"
        previous = self._previous_excepthook or sys.__excepthook__
        previous(kind, value, traceback)

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            self.recording.log.warning("started outside the main thread: no signal handlers "
                                       "installed (a SIGTERM will lose the profile)")
            return
        for signum in _TERMINATING_SIGNALS:
            previous = signal.getsignal(signum)
            if previous is signal.SIG_IGN or previous is None:
                # ignored, or a handler installed from C that we cannot chain to
                continue
            if signum == signal.SIGINT and previous is signal.default_int_handler:
                # KeyboardInterrupt already reaches atexit/our run wrapper; and
                # asyncio.run or unittest only install their own SIGINT handler
                # when they find this exact default.
                continue
            try:
                signal.signal(signum, self._handler)
            except (OSError, ValueError) as exc:
                self.recording.log.warning(f"no handler for {signal.Signals(signum).name}: {exc}")
                continue
            self._previous_handlers[signum] = previous

    def _uninstall_hooks(self) -> None:
        try:
            atexit.unregister(self._at_exit)
        except Exception:  # noqa: BLE001, S110
            pass
        if sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_excepthook or sys.__excepthook__
        if threading.current_thread() is threading.main_thread():
            for signum, previous in self._previous_handlers.items():
                try:
                    if signal.getsignal(signum) == self._handler:
                        signal.signal(signum, previous)
                except (OSError, ValueError, TypeError):
                    pass
        self._previous_handlers = {}

    def _on_signal(self, signum: int, frame: FrameType | None) -> Any:
        previous = self._previous_handlers.get(signum)
        if callable(previous):
            return previous(signum, frame)
        # The default action: finish the run, then die by the same signal.
        if self._state == "stopping":
            self._pending_signal = signum  # stop() re-sends it when done
            return None
        self.stop(signal.Signals(signum).name)
        _die_by_signal(signum)
        return None


def _die_by_signal(signum: int) -> None:
    """End the process by signum with its default action, as if we had never
    caught it (the parent sees WIFSIGNALED)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001, S110
            pass
    try:
        signal.signal(signum, signal.SIG_DFL)
    except (OSError, ValueError):  # not the main thread: the handler sends it back to us
        pass
    os.kill(os.getpid(), signum)
    # Delivery may be to another thread; give the kernel a moment.
    time.sleep(2.0)
    os._exit(128 + signum)


# -- the process-wide session ---------------------------------------------

_current: Session | None = None
_current_lock = threading.Lock()  # guards _current


def _forget(session: Session) -> None:
    global _current
    if _current is session:
        _current = None


def current() -> Session | None:
    return _current


def _default_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None):
        return str(spec.name).removesuffix(".__main__")
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 and argv0 != "-c":
        return os.path.splitext(os.path.basename(argv0))[0] or "python"
    return "python"


def _source_dir() -> str | None:
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.dirname(os.path.abspath(main_file)) if main_file else None


def begin(session: Session) -> Session:
    """Make session the process's session and start it; the running session
    instead when there is one (start is idempotent)."""
    global _current
    with _current_lock:
        if _current is not None and _current.running:
            return _current
        session.start()
        _current = session
        return session


def start(*, config: str | os.PathLike[str] | None = None, **options: Any) -> None:
    """Whole-process profiling (see ``pipegauge.start``). Keyword options
    win over PIPEGAUGE_* variables, which win over the configuration file
    (config, or the one discovered from the working directory)."""
    if _current is not None and _current.running:
        return
    opts, _ = build_options(options, config=config)
    if _core.active():
        raise RuntimeError("pipegauge: a pipegauge.profile() block is already profiling this process")
    session = Session(opts, name=opts.name or _default_name(), argv=list(sys.argv),
                      source_dir=_source_dir())
    begin(session)


def stop() -> Run | None:
    """Stop whole-process profiling and write its run; None when not running."""
    session = _current
    if session is None:
        return None
    return session.stop("stop()")


def _after_fork_in_child() -> None:
    session = _current
    if session is not None and session.running:
        session.detach_after_fork()
        _forget(session)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
