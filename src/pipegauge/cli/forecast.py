"""``pipegauge forecast RUN... --target N``: the scaling forecast from runs
that carry their size (``scale.n``: made by ``pipegauge scale``, with
PIPEGAUGE_N, or with ``pipegauge.scale_param``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .._errors import UsageError
from .._files import write_atomic
from .._forecast import Forecast, build_forecast, run_size
from .._run import Run
from .._rundir import PROFILE_FILE
from .._config import report_warnings, resolve
from .._scale_param import parse_size
from ..renderers._text import Style
from ..renderers.forecast import render_forecast
from ._common import check_output_file, load_run

NAME = "forecast"
HELP = "forecast time and memory at a larger input size from runs at a few sizes"
DESCRIPTION = """\
Fit every function's self time, total time and calls, and the run's time
and peak memory, against O(1), O(log n), O(n), O(n log n), O(n^2), O(n^3)
and a free power law, and forecast them at --target with a 90% prediction
interval. RUN is a run directory, a profile file, a run name, 'latest', or
a 'pipegauge scale' directory (all its runs). Each run's size is its
scale.n metadata, else sample_size from the configuration (e.g.
[tool.pipegauge] in pyproject.toml); --target defaults to expected_size
from there."""


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared with 'pipegauge scale'."""
    parser.add_argument("--target", metavar="N",
                        help="the size to forecast for (default: expected_size in [tool.pipegauge])")
    parser.add_argument("--json", metavar="FILE", help="also write the forecast as JSON to FILE")
    parser.add_argument("--html", metavar="FILE", help="also write the forecast page to FILE")
    parser.add_argument("--limit", type=int, default=20, metavar="N",
                        help="functions shown in the table (default 20; 0 = all)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--config", metavar="PATH",
                        help="configuration file (default: .pipegauge.toml, .pipegauge.yaml or "
                             "pyproject.toml [tool.pipegauge], found from here up)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="runs at two or more sizes")
    add_output_arguments(parser)


def scale_settings(args: argparse.Namespace) -> dict[str, int | None]:
    """sample_size ("the runs were measured at") and expected_size ("forecast
    for") from the configuration (file, PIPEGAUGE_SAMPLE_SIZE, ...)."""
    effective = resolve(config=args.config)
    report_warnings(effective)
    return {key: effective[key] for key in ("sample_size", "expected_size")}


def parse_target(text: str | None, settings: dict[str, int | None]) -> float:
    """--target, else expected_size from the configuration; UsageError when neither."""
    if text is None:
        configured = settings.get("expected_size")
        if configured is None:
            raise UsageError("give --target N (or expected_size in the configuration, e.g. "
                             "[tool.pipegauge] of pyproject.toml)")
        return float(configured)
    try:
        return float(parse_size(text))
    except ValueError:
        raise UsageError(f"--target: {text!r} is not a size (a number >= 1)") from None


def check_outputs(args: argparse.Namespace) -> None:
    """Fail before any work when an output file cannot be written."""
    for option in ("json", "html"):
        if getattr(args, option):
            check_output_file(getattr(args, option))
    if args.limit < 0:
        raise UsageError("--limit must be >= 0")


def _expand(spec: str) -> list[str]:
    """A 'pipegauge scale' directory stands for the runs inside it."""
    path = Path(spec)
    if path.is_dir() and not (path / PROFILE_FILE).is_file():
        inner = sorted(str(entry) for entry in path.iterdir() if (entry / PROFILE_FILE).is_file())
        if inner:
            return inner
    return [spec]


def emit(forecast: Forecast, args: argparse.Namespace, extra_outputs: list[Path]) -> None:
    """Print the table; write JSON and the HTML page where asked (and to
    extra_outputs: JSON for *.json, HTML for *.html)."""
    from ..report.forecast import render_forecast_page  # local: the page is optional

    data = forecast.to_json()
    json_text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    html_paths = [Path(args.html)] if args.html else []
    json_paths = [Path(args.json)] if args.json else []
    for path in extra_outputs:
        (html_paths if path.suffix == ".html" else json_paths).append(path)
    for path in json_paths:
        write_atomic(path, json_text)
    for path in html_paths:
        render_forecast_page(forecast, path)
    sys.stdout.write(render_forecast(forecast, cwd=os.getcwd(), limit=args.limit or None,
                                     style=Style.for_stream(sys.stdout)))
    for path in json_paths + html_paths:
        print(f"pipegauge: wrote {path}", file=sys.stderr)


def execute(args: argparse.Namespace) -> int:
    settings = scale_settings(args)
    target = parse_target(args.target, settings)
    check_outputs(args)
    specs = [item for spec in args.runs for item in _expand(spec)]
    runs: list[Run] = [load_run(spec) for spec in specs]
    default = settings.get("sample_size")
    sized = [(run_size(run, default), run) for run in runs]
    emit(build_forecast(sized, target, seed=args.seed), args, [])
    return 0
