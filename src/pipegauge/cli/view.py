"""``pipegauge view RUN``: the function table or the call tree of a run, and
optionally bar charts of its top functions; every line fits 80 columns."""

from __future__ import annotations

import argparse
import os
import sys

from .._config import report_warnings, resolve
from .._errors import PipegaugeError
from .._lineheat import function_source, heat_by_function, started_epoch_ns
from .._run import Run
from ..renderers._text import label_for
from ..renderers.lines import render_line_heat
from ..renderers.table import matches
from .._sides import profile_spec
from .._stats import RESOURCE_SORT_KEYS, SORT_KEYS, resolve_sort_key
from ..renderers._text import Style
from ..renderers.charts import DEFAULT_TOP, render_charts
from .._stage_report import stage_report
from ..renderers.timeline import render_timeline
from ..renderers.header import render_header
from ..renderers.io import render_io
from ..renderers.resources import render_resources
from ..renderers.stages import render_stages
from ..renderers.table import render_sampled_table, render_table
from ..renderers.tree import render_tree
from ..renderers.processes import render_processes
from ..renderers.tasks import render_tasks
from ._common import add_run_argument, load_run, process_profile
from ..renderers.diff import render_diff
from ..renderers.findings import render_findings
from .._findings import analyse, settings_from
from ._compare import add_history_argument, compare_specs

NAME = "view"
HELP = "show a run as a table of functions or a call tree, with bar charts"
DESCRIPTION = """\
Show a run: with --flat (the default) a pstats-like table (ncalls as
"calls/primitive" when recursive, tottime, cumtime, and the p50, p95 and max
of a call's total time, a bar of the share of self time), with --resources
(or a resource --sort key) the table's resource columns (CPU, off-CPU share,
memory allocated, net and peak, I/O bytes when recorded), or with --tree the
call tree with each path's share of the run. --charts adds bar charts of the
top functions by self time, total time, calls and memory (memory only when
the run recorded it). --timeline adds sparklines of RSS, CPU, I/O rate,
threads and GPU utilisation and memory over the run. --io adds the I/O totals
of each thread (the kernel's counters next to the bytes charged to functions)
and the top functions by bytes read and written. --diff BASE adds the diff
table against another run (see 'pipegauge diff'). --findings shows what to
change: anti-patterns in the hot functions' source and dominant functions or
stages, ranked by the measured time at stake. --lines FUNC shows the
function's source with per-line time, share, hits and bars (runs recorded
with --lines, or in sampling mode). Every line fits 80
columns: long names are cut in the middle. Colour is used only on a terminal
and never when NO_COLOR is set."""

DEFAULT_LIMIT = 40


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100: {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("--sort", default="tottime", metavar="KEY",
                        help=f"table order: {', '.join(SORT_KEYS)} (default tottime)")
    parser.add_argument("--limit", type=_non_negative_int, default=None, metavar="N",
                        help=f"show at most N functions in the table and in each chart "
                             f"(default {DEFAULT_LIMIT} and {DEFAULT_TOP}; 0 = all)")
    parser.add_argument("--filter", metavar="PATTERN",
                        help="only functions whose label contains PATTERN (or matches it, if a glob)")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument("--flat", action="store_true", help="show the table of functions (the default)")
    layout.add_argument("--tree", action="store_true", help="show the call tree instead of the table")
    layout.add_argument("--stages", action="store_true",
                        help="show the pipeline stages: records, throughput, latency, own vs "
                             "waiting time, the bottleneck")
    layout.add_argument("--resources", action="store_true",
                        help="show the table with resource columns: cumtime, cpu, off-CPU %%, memory "
                             "allocated, net and peak, I/O bytes (also chosen by a resource --sort key)")
    layout.add_argument("--findings", action="store_true",
                        help="show what to change: anti-patterns in the hot functions' source, "
                             "ranked by measured time at stake, and dominant functions or stages")
    parser.add_argument("--findings-min-percent", type=_percent, default=None, metavar="P",
                        help="--findings: analyse functions taking at least P%% of the run (default 2)")
    parser.add_argument("--dominance-percent", type=_percent, default=None, metavar="P",
                        help="--findings: report functions or stages above P%% of the run (default 30)")
    parser.add_argument("--complexity", type=_positive_int, default=None, metavar="N",
                        help="--findings: report cyclomatic complexity above N (default 15)")
    parser.add_argument("--charts", action="store_true",
                        help="add bar charts of the top functions by self time, total time, calls and memory")
    parser.add_argument("--timeline", action="store_true",
                        help="add sparklines of RSS, CPU, I/O, threads and GPUs over the run")
    parser.add_argument("--io", action="store_true",
                        help="add I/O totals per thread and the top functions by bytes read and written")
    parser.add_argument("--min-percent", type=_percent, default=None, metavar="P",
                        help="--tree: hide call paths below P%% of the run (default 0.5, "
                             "or min_percent from the configuration)")
    parser.add_argument("--min-time-ms", type=_non_negative_float, default=None, metavar="MS",
                        help="table: hide functions whose total time is below MS milliseconds "
                             "(default 0, or min_time_ms from the configuration)")
    parser.add_argument("--max-depth", type=_non_negative_int, default=None, metavar="N",
                        help="--tree: show at most N levels")
    processes = parser.add_mutually_exclusive_group()
    processes.add_argument("--processes", action="store_true",
                           help="list the processes of a multi-process run (pid, role, state, time)")
    processes.add_argument("--pid", type=_non_negative_int, metavar="PID",
                           help="show one process of a multi-process run alone")
    parser.add_argument("--lines", metavar="FUNC",
                        help="show FUNC's source with its line heat: time, share, hits and a bar "
                             "per line (FUNC matches as --filter; the run needs --lines)")
    parser.add_argument("--async", dest="show_async", action="store_true",
                        help="asyncio tasks per coroutine: lifetimes, running and awaiting time")
    parser.add_argument("--no-correct", action="store_true",
                        help="show raw times, without subtracting the profiler's overhead")
    parser.add_argument("--diff", metavar="BASE",
                        help="add the diff table against BASE (a run id, 'baseline', a run directory, ...)")
    add_history_argument(parser)


def _line_view(run: Run, pattern: str, *, correct: bool) -> str:
    """view --lines FUNC; PipegaugeError (one line) when it cannot be shown."""
    profile = run.profile
    assert profile is not None
    heat = heat_by_function(profile)
    if not heat:
        raise PipegaugeError("this run has no line heat: record it with 'pipegauge run --lines' "
                             "(or --lines-for FUNC; on Python 3.10/3.11 --mode sample)")
    stats = run.stats(correct=correct)
    found = [item for item in stats if matches(item, pattern)]
    exact = [item for item in found if pattern in (item.name, item.name.rsplit(".", 1)[-1])]
    found = exact or found
    if not found:
        raise PipegaugeError(f"no function matches {pattern!r}")
    with_heat = [item for item in found if item.index in heat]
    if not with_heat:
        names = ", ".join(sorted(item.name for item in stats if item.index in heat)[:8])
        raise PipegaugeError(f"{pattern!r} has no line heat in this run (functions with line "
                             f"heat: {names}); record it with --lines-for {pattern!r}")
    if len(with_heat) > 1:
        cwd = os.getcwd()
        candidates = "; ".join(label_for(item, cwd, 60) for item in with_heat[:10])
        raise PipegaugeError(f"{pattern!r} is ambiguous, it matches: {candidates}")
    item = with_heat[0]
    function = heat[item.index]
    source = function_source(item.file, item.line, [row.line for row in function.rows],
                             started_epoch_ns=started_epoch_ns(run.run_info))
    hits = "samples" if run.meta.get("lines.mode") == "sample" else "hits"
    return render_line_heat(item, function, source, cwd=os.getcwd(), hits_label=hits,
                            style=Style.for_stream(sys.stdout))


def execute(args: argparse.Namespace) -> int:
    resolve_sort_key(args.sort)  # a bad key fails before the file is read
    settings = resolve({"min_percent": args.min_percent, "min_time_ms": args.min_time_ms,
                        "findings_min_percent": args.findings_min_percent,
                        "findings_dominance_percent": args.dominance_percent,
                        "findings_complexity": args.complexity})
    report_warnings(settings)
    spec = profile_spec(args.run, args.history_path)
    if args.pid is not None:
        run = load_run(process_profile(spec, args.pid))
    else:
        run = load_run(spec)
    if args.processes:
        sys.stdout.write(render_processes(run.processes, style=Style.for_stream(sys.stdout)))
        return 0
    if args.lines is not None:
        sys.stdout.write(_line_view(run, args.lines, correct=not args.no_correct))
        return 0
    if args.show_async:
        sys.stdout.write(render_tasks(run.async_tasks, cwd=os.getcwd(), style=Style.for_stream(sys.stdout)))
        return 0
    corrected = run.options.correct_overhead and not args.no_correct
    style = Style.for_stream(sys.stdout)
    cwd = os.getcwd()
    output = [render_header(run, corrected=corrected, style=style)]
    stats = run.stats(args.sort, correct=corrected)
    if args.stages:
        profile = run.profile
        assert profile is not None
        output.append(render_stages(stage_report(profile), style=style))
    elif args.findings:
        profile = run.profile
        assert profile is not None
        result = analyse(profile, correct=corrected, settings=settings_from(settings.values))
        output.append("\n" + render_findings(result, cwd=cwd, style=style, limit=args.limit))
    elif args.tree:
        profile = run.profile
        assert profile is not None
        by_index = sorted(stats, key=lambda item: item.index)
        output.append(render_tree(
            profile.nodes(corrected), by_index,
            total_ns=float(run.run_info.get("duration_ns", 0.0)),
            cwd=cwd, min_percent=settings["min_percent"], max_depth=args.max_depth,
            pattern=args.filter, style=style,
        ))
    elif args.resources or (resolve_sort_key(args.sort) in RESOURCE_SORT_KEYS and not args.flat):
        limit = DEFAULT_LIMIT if args.limit is None else args.limit
        if settings["min_time_ms"] > 0:
            stats = [item for item in stats if item.total_time * 1e3 >= settings["min_time_ms"]]
        output.append(render_resources(stats, cwd=cwd, limit=limit or None, pattern=args.filter,
                                       style=style))
    else:
        limit = DEFAULT_LIMIT if args.limit is None else args.limit
        if settings["min_time_ms"] > 0:
            stats = [item for item in stats if item.total_time * 1e3 >= settings["min_time_ms"]]
        table = render_sampled_table if run.sampled else render_table
        output.append(table(stats, cwd=cwd, limit=limit or None, pattern=args.filter, style=style))
    if args.charts:
        top = DEFAULT_TOP if args.limit is None else args.limit
        output.append("\n" + render_charts(stats, cwd=cwd, top=top, pattern=args.filter, style=style))
    if args.diff:
        result = compare_specs(args, args.diff, args.run)
        output.append("\n" + render_diff(result, style=style))
    if args.timeline:
        profile = run.profile
        assert profile is not None
        output.append("\n" + render_timeline(profile.timeline(), profile.meta, style=style,
                                              encoding=getattr(sys.stdout, "encoding", None)))
    if args.io:
        profile = run.profile
        assert profile is not None
        top = DEFAULT_TOP if args.limit is None else args.limit
        output.append("\n" + render_io(profile, stats, cwd=cwd, limit=top or None, style=style))
    sys.stdout.write("".join(output))
    sys.stdout.flush()
    return 0
