"""``pipegauge scale --sizes 1000,10000,100000 --target 1e7 [--repeat K] -- script.py ARGS...``:
profile the program once per size (K times), each run a fresh
``pipegauge run`` process, then print the forecast."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from .._errors import FAILURE_EXIT, PipegaugeError, UsageError
from .._forecast import build_forecast
from .._rundir import PROFILE_FILE, ensure_writable_dir, safe_name
from .._run import Run
from .._scale_param import SIZE_ENV, format_size, parse_size
from .._units import short_size
from . import forecast as forecast_command
from . import run as run_command

NAME = "scale"
HELP = "profile a program at several input sizes and forecast a larger one"
DESCRIPTION = """\
Run the program once per size (--repeat K times), each in a fresh
'pipegauge run' process, passing the size three ways: '{n}' in its
arguments is replaced by it, the environment variable PIPEGAUGE_N holds it,
and pipegauge.scale_param(default) returns it. Then fit and forecast as
'pipegauge forecast' does. The runs, forecast.json and forecast.html go to
.pipegauge/scale/<timestamp>-<name>/ (or -o DIR); each run's program output
is kept beside it in n<size>-r<k>.log."""

# options that take a value, to find where the program's arguments begin
VALUE_OPTIONS = frozenset({"-o", "--output-dir", "--name", "--ignore", "--sizes", "--target",
                           "--repeat", "--json", "--html", "--limit", "--seed", "--config"})
SCALE_ROOT = Path(".pipegauge") / "scale"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = ("pipegauge scale --sizes N,N,... --target N [options] [--] script.py [args ...]\n"
                    "       pipegauge scale --sizes N,N,... --target N [options] -m module [args ...]")
    parser.add_argument("--sizes", metavar="N,N,...",
                        help="input sizes to measure at (three or more for a forecast); "
                             "default: sample_size from the configuration")
    parser.add_argument("--repeat", type=int, default=1, metavar="K",
                        help="runs per size (default 1; 3 makes the fit robust to a disturbed run)")
    forecast_command.add_output_arguments(parser)
    parser.add_argument("-o", "--output-dir", metavar="DIR",
                        help="write the runs and forecast here instead of .pipegauge/scale/<timestamp>-<name>/")
    parser.add_argument("--name", help="name of the scale directory and its runs (default: the program's)")
    run_group = parser.add_argument_group("passed to each 'pipegauge run'")
    run_group.add_argument("--no-builtins", action="store_true", help="see pipegauge run --help")
    run_group.add_argument("--exact-builtins", action="store_true")
    run_group.add_argument("--include-stdlib", action="store_true")
    run_group.add_argument("--ignore", action="append", default=[], metavar="PATTERN")
    run_group.add_argument("--no-overhead-correction", action="store_true")
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    parser.add_argument("script", nargs="?", help="the script to run, followed by its arguments")


def split_argv(tokens: list[str]) -> tuple[list[str], list[str], list[str]]:
    return run_command.split_argv(tokens, VALUE_OPTIONS)


def _sizes(text: str | None, settings: dict[str, int | None]) -> list[int | float]:
    if text is None:
        configured = settings.get("sample_size")
        if configured is None:
            raise UsageError("give --sizes N,N,... (or sample_size in the configuration, e.g. "
                             "[tool.pipegauge] of pyproject.toml)")
        return [configured]
    try:
        sizes = [parse_size(item) for item in text.split(",") if item.strip()]
    except ValueError as exc:
        raise UsageError(f"--sizes: {exc}") from None
    if not sizes:
        raise UsageError("--sizes: no sizes given")
    if len(set(sizes)) != len(sizes):
        raise UsageError("--sizes: a size is given twice (use --repeat for repeated runs)")
    return sorted(sizes)


def _run_options(args: argparse.Namespace) -> list[str]:
    options = []
    for flag in ("no_builtins", "exact_builtins", "include_stdlib", "no_overhead_correction"):
        if getattr(args, flag):
            options.append("--" + flag.replace("_", "-"))
    for pattern in args.ignore:
        options += ["--ignore", pattern]
    if args.config:
        options += ["--config", args.config]
    return options


def _program(args: argparse.Namespace, size: str) -> list[str]:
    """The target and its arguments with {n} replaced."""
    program_args = [arg.replace("{n}", size) for arg in args.program_args]
    if args.module is not None:
        return ["-m", args.module, *program_args]
    if args.script is None:
        raise UsageError("scale: give a script (pipegauge scale ... script.py) or a module (-m module)")
    return ["--", args.script, *program_args]


def _scale_dir(args: argparse.Namespace, name: str) -> Path:
    if args.output_dir:
        directory = Path(args.output_dir)
    else:
        directory = SCALE_ROOT / (time.strftime("%Y%m%d-%H%M%S") + "-" + safe_name(name))
        suffix = 2
        while directory.exists():
            directory = directory.with_name(directory.name.rsplit("~", 1)[0] + f"~{suffix}")
            suffix += 1
    ensure_writable_dir(directory)
    return directory


def _one_run(args: argparse.Namespace, directory: Path, name: str, size: int | float,
             repeat: int) -> Run:
    """Profile one run in a fresh process; its program output goes to a log."""
    text = format_size(size)
    stem = f"n{text}-r{repeat}"
    command = [sys.executable, "-m", "pipegauge", "run", "-o", str(directory / stem),
               "--name", f"{name}-n{text}", *_run_options(args), *_program(args, text)]
    env = dict(os.environ, **{SIZE_ENV: text})
    log = directory / f"{stem}.log"
    started = time.monotonic()
    with open(log, "wb") as output:
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, env=env, check=False)
    elapsed = time.monotonic() - started
    profile = directory / stem / PROFILE_FILE
    if completed.returncode != 0 or not profile.is_file():
        raise PipegaugeError(f"the program failed at n={text} (exit status {completed.returncode}); "
                             f"its output is in {log}", FAILURE_EXIT)
    print(f"pipegauge: n={short_size(size)} run {repeat}/{args.repeat}: {elapsed:.2f}s", file=sys.stderr)
    return Run.load(profile)


def execute(args: argparse.Namespace) -> int:
    settings = forecast_command.scale_settings(args)
    sizes = _sizes(args.sizes, settings)
    target = forecast_command.parse_target(args.target, settings)
    if args.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    forecast_command.check_outputs(args)
    _program(args, "1")  # a missing target is a usage error before anything runs
    if args.script is not None and not os.path.exists(args.script):
        raise UsageError(f"cannot open script {args.script!r}: no such file")
    name = args.name or (args.module or Path(args.script or "program").stem)
    directory = _scale_dir(args, name)
    sized = []
    for size in sizes:
        for repeat in range(1, args.repeat + 1):
            sized.append((float(size), _one_run(args, directory, name, size, repeat)))
    result = build_forecast(sized, target, seed=args.seed)
    forecast_command.emit(result, args, [directory / "forecast.json", directory / "forecast.html"])
    return 0
