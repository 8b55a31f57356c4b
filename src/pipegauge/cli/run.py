"""``pipegauge run [options] script.py [args...]`` / ``pipegauge run [options] -m module [args...]``."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Any

from .. import _core
from .._errors import FAILURE_EXIT, PipegaugeError, UsageError
from .._config import build_options
from .._options import check_lines_threshold, check_timeline_hz
from .._options import MODES, SAMPLE_CLOCKS, check_sample_hz, check_timeline_hz
from .._progress import Progress
from .._run import Run
from .._session import Session, begin
from ..renderers.summary import render_summary
from ._repeat import run_repeated
from ._target import ProgramError, Target, make_target, print_exception

NAME = "run"
HELP = "run a Python program under the profiler"
DESCRIPTION = """\
Run a script or module under the profiler and write its run directory
(default .pipegauge/runs/<timestamp>-<name>/: profile.pgprof, summary.json,
pipegauge.log). The program sees its own argv, __name__ == "__main__" and its
own sys.path[0]; its exit status (or the signal that ended it) is kept.
Everything after the script or module belongs to the program."""

# run options that take a value, to find where the program's arguments begin
_VALUE_OPTIONS = frozenset({"-o", "--output-dir", "--name", "--ignore", "--config", "--repeat",
                            "--history-path", "--timeline-hz", "--lines-for",
                            "--lines-threshold", "--mode", "--rate", "--clock"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = ("pipegauge run [options] script.py [args ...]\n"
                    "       pipegauge run [options] -m module [args ...]")
    parser.add_argument("-o", "--output-dir", metavar="DIR",
                        help="write the run here instead of .pipegauge/runs/<timestamp>-<name>/")
    parser.add_argument("--name", help="run name (default: the script's or module's name)")
    parser.add_argument("--no-builtins", dest="builtins", action="store_false",
                        help="do not attribute time to builtins and C methods")
    parser.add_argument("--exact-builtins", action="store_true",
                        help="Python 3.12+: keep every call site watched for builtins, also sites "
                             "that called a Python function before (slower; see README)")
    parser.add_argument("--include-stdlib", action="store_true",
                        help="profile stdlib and site-packages code instead of folding it into callers")
    parser.add_argument("--ignore", action="append", metavar="PATTERN",
                        help="fold modules matching this fnmatch pattern into their callers (repeatable)")
    parser.add_argument("--no-overhead-correction", dest="correct_overhead", action="store_false",
                        help="report raw times, without subtracting the profiler's own cost")
    parser.add_argument("--no-history", dest="history", action="store_false", default=None,
                        help="do not record the run in the history database")
    parser.add_argument("--history-path", metavar="FILE",
                        help="the history database (default .pipegauge/history.sqlite)")
    parser.add_argument("--repeat", type=_repeat_count, default=1, metavar="N",
                        help="run the program N times, each in a fresh process, recorded as one "
                             "group (diff and check then use the spread across the repeats)")
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="do not attribute memory allocations to functions")
    parser.add_argument("--no-cpu", dest="cpu", action="store_false",
                        help="do not attribute CPU time to functions (no CPU-time timers)")
    parser.add_argument("--no-io", dest="io", action="store_false",
                        help="do not attribute file and socket I/O to functions")
    parser.add_argument("--no-timeline", dest="timeline", action="store_false",
                        help="do not sample RSS, CPU, I/O, threads and GPUs over time")
    parser.add_argument("--timeline-hz", type=_timeline_hz, metavar="HZ",
                        help="timeline samples per second (default 20)")
    parser.add_argument("--no-gpu", dest="gpu", action="store_false",
                        help="do not read NVIDIA GPUs (NVML) on the timeline")
    parser.add_argument("--lines", action="store_true", default=None,
                        help="line heat for the functions above --lines-threshold of own time "
                             "(Python 3.12+ in deterministic mode; see 'view --lines')")
    parser.add_argument("--lines-for", action="append", metavar="PATTERN",
                        help="line heat for functions whose qualified name matches PATTERN "
                             "(substring or glob; repeatable; implies --lines)")
    parser.add_argument("--lines-threshold", type=_lines_threshold, metavar="SHARE",
                        help="own-time share of the run above which --lines picks a function "
                             "(default 0.05; 0 = only --lines-for functions)")
    parser.add_argument("--mode", choices=MODES, default=None,
                        help="deterministic (default: every call traced, exact counts) or sample "
                             "(a statistical stack sampler, no profile hook, ~1x speed)")
    parser.add_argument("--rate", dest="sample_hz", type=_sample_hz, metavar="HZ",
                        help="--mode sample: samples per second per thread (default 1000, at most 10000)")
    parser.add_argument("--clock", dest="sample_clock", choices=SAMPLE_CLOCKS, default=None,
                        help="--mode sample: sample on wall time (default; sleeping and waiting "
                             "count) or on each thread's CPU time")
    parser.add_argument("--subprocess", action="store_true", default=None,
                        help="also profile Python programs the program starts with subprocess "
                             "(multiprocessing workers are always profiled)")
    parser.add_argument("--config", metavar="PATH",
                        help="read settings from this file instead of the discovered one")
    parser.set_defaults(builtins=None, exact_builtins=None, include_stdlib=None,
                        correct_overhead=None, ignore=None, history=None, memory=None,
                        cpu=None, io=None, timeline=None, timeline_hz=None, gpu=None,
                        lines=None, lines_for=None, lines_threshold=None)
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    parser.add_argument("script", nargs="?", help="the script to run, followed by its arguments")


def _repeat_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 1000: {text!r}")
    return value


def _sample_hz(text: str) -> float:
    try:
        return check_sample_hz(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix("sampling rate: ")) from None


def _timeline_hz(text: str) -> float:
    try:
        return check_timeline_hz(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix("timeline_hz: ")) from None


def _lines_threshold(text: str) -> float:
    try:
        return check_lines_threshold(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message.removeprefix("lines_threshold: ")) from None


def split_argv(tokens: list[str], value_options: frozenset[str] = _VALUE_OPTIONS,
               ) -> tuple[list[str], list[str], list[str]]:
    """(run options, target tokens for argparse, program arguments).

    The target is the first token that is not an option (or the one after
    '--'), or '-m MODULE'; everything after it is the program's.
    value_options: the options that take a value (another subcommand that
    runs a program passes its own)."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            return tokens[:index], ["--", *tokens[index + 1:index + 2]], tokens[index + 2:]
        if token == "-m":
            return tokens[:index], tokens[index:index + 2], tokens[index + 2:]
        if token.startswith("-m") and not token.startswith("--"):
            return tokens[:index], ["-m", token[2:]], tokens[index + 1:]
        if token in value_options:
            index += 2
            continue
        if token.startswith("-") and token != "-":
            index += 1
            continue
        return tokens[:index], ["--", token], tokens[index + 1:]
    return tokens, [], []


def _join_program_threads() -> None:
    """Wait for the program's non-daemon threads, as the interpreter would
    before exiting, so their work is in the profile."""
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is current or thread.daemon or thread is threading.main_thread():
            continue
        thread.join()


def _exit_status(code: Any) -> int:
    """The status sys.exit(code) gives, printing a non-integer code as Python does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _quiet_keyboard_interrupt_hook(previous: Any) -> Any:
    def hook(kind: type[BaseException], value: BaseException, traceback: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            return  # already printed, before the summary
        previous(kind, value, traceback)

    return hook


def execute(args: argparse.Namespace) -> int:
    if args.repeat > 1:
        return run_repeated(args)
    target: Target = make_target(args.script, args.module, args.program_args)
    options, _ = build_options({
        "output_dir": args.output_dir,
        "name": args.name,
        "builtins": args.builtins,
        "exact_builtins": args.exact_builtins,
        "include_stdlib": args.include_stdlib,
        "ignore_modules": args.ignore,
        "correct_overhead": args.correct_overhead,
        "subprocess": args.subprocess,
        "history": args.history,
        "history_path": args.history_path,
        "memory": args.memory,
        "cpu": args.cpu,
        "io": args.io,
        "timeline": args.timeline,
        "timeline_hz": args.timeline_hz,
        "gpu": args.gpu,
        "lines": args.lines,
        "lines_for": args.lines_for,
        "lines_threshold": args.lines_threshold,
        "mode": args.mode,
        "sample_hz": args.sample_hz,
        "sample_clock": args.sample_clock,
    }, config=args.config, explicit_source="command line")
    try:
        target.prepare()
    except ProgramError as exc:
        if exc.__cause__ is not None:
            print_exception(exc.__cause__)
        return 1
    except SyntaxError as exc:
        exc.__traceback__ = None  # python shows only the error's location
        sys.excepthook(type(exc), exc, None)
        return 1

    session = Session(options, name=options.name or target.name, argv=target.argv,
                      source_dir=target.source_dir)
    session.on_stop.append(lambda run: _report(run, session, target))
    try:
        begin(session)
    except _core.ProfilerBusyError as exc:
        raise PipegaugeError(f"cannot profile: {exc}") from None
    except RuntimeError as exc:
        raise PipegaugeError(f"cannot profile: {exc}") from None

    progress = Progress()
    if Progress.wanted(sys.stderr, args.quiet):
        session.on_stop.insert(0, lambda run: progress.stop())  # erased before the summary
        progress.start()

    interrupted = False
    code: Any = 0
    try:
        target.execute()
        reason = "returned"
    except SystemExit as exc:
        code = exc.code
        reason = f"sys.exit({exc.code!r})"
    except KeyboardInterrupt as exc:
        print_exception(exc)
        interrupted = True
        reason = "KeyboardInterrupt"
    except BaseException as exc:  # noqa: BLE001 - the program's error: print it as Python would
        print_exception(exc)
        code = 1
        reason = f"unhandled {type(exc).__name__}"
    if not interrupted:
        _join_program_threads()
    progress.stop()
    session.stop(reason)  # prints the summary (None if the program already called stop())

    status = _exit_status(code)
    if session.write_error and status == 0:
        status = FAILURE_EXIT
    if interrupted:
        # Leave by SIGINT, as CPython does for an unhandled KeyboardInterrupt.
        sys.excepthook = _quiet_keyboard_interrupt_hook(sys.excepthook)
        raise KeyboardInterrupt
    return status


def _report(run: Run, session: Session, target: Target) -> None:
    text = render_summary(run, target=target.display, cwd=os.getcwd(),
                          write_error=session.write_error)
    sys.stderr.write(text)
    sys.stderr.flush()
