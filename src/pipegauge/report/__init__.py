"""The HTML report: one self-contained file, openable from disk.

``template.html``, ``report.js`` and ``report.css`` ship as package data and
are inlined at render time; the run's data is embedded as JSON with ``<``,
``>``, ``&``, U+2028 and U+2029 escaped, so no string in a profile can close
the script element or break the page. No network, no build step.

A large call tree is pruned in C first (``_core.prune``: small paths merged
into "[other]" nodes, totals kept) so the file stays under MAX_BYTES and the
page under a few seconds to interactive.
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Union

from .. import _core
from .. import _lineheat as lineheat
from .._files import write_atomic
from .._findings import analyse, configured_settings
from .._run import Run
from .._stage_report import stage_report
from .._summary import _meta_value
from .baseline import baseline_diff

__all__ = ["MAX_BYTES", "MAX_NODES", "build_data", "render", "render_html"]

MAX_BYTES = 25_000_000
"""Upper bound on the size of a report file (25 MB)."""

MAX_NODES = 100_000
"""Call-tree nodes embedded at most; more are merged into "[other]" nodes."""

DATA_VERSION = 1  # bump when the embedded data changes shape (report.js reads it)

_PLACEHOLDER = re.compile(r"/\*pg:(css|js|data|title)\*/")
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
            "\u2028": "\\u2028", "\u2029": "\\u2029"}
_ESCAPE_PATTERN = re.compile("[<>&\u2028\u2029]")


def embed_json(data: Any) -> str:
    """JSON safe to place inside <script type="application/json">."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _ESCAPE_PATTERN.sub(lambda match: _ESCAPES[match.group(0)], text)


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _header(run: Run, profile: _core.Profile) -> dict[str, Any]:
    """Header fields; the optional ones (CPU, RSS, GPU) only when recorded."""
    info = profile.run
    meta = run.meta
    argv = _meta_value("argv", meta.get("argv", "[]"))
    header: dict[str, Any] = {
        "name": run.name,
        "program": argv[0] if isinstance(argv, list) and argv else meta.get("name", run.name),
        "argv": argv if isinstance(argv, list) else [str(argv)],
        "when": meta.get("start_time", ""),
        "duration_s": float(info.get("duration_ns", 0.0)) * 1e-9,
        "python": meta.get("python", ""),
        "backend": meta.get("backend", ""),
        "threads": int(info.get("threads", 0)),
        "events": int(info.get("events", 0)),
        "overhead_s": float(info.get("overhead_ns", 0.0)) * 1e-9,
        "profiler_memory": int(info.get("profiler_memory", 0)),
        "end_reason": run.end_reason or meta.get("end_reason", ""),
        "host": meta.get("host", ""),
        "corrected": run.options.correct_overhead,
    }
    # Resource numbers arrive with the resource sampler; shown only when present.
    for key, field in (("cpu_ns", "cpu_s"), ("peak_rss", "peak_rss_bytes")):
        if key in info:
            header[field] = float(info[key]) * (1e-9 if key.endswith("_ns") else 1)
    if meta.get("gpu"):
        header["gpu"] = meta["gpu"]
    if run.sampled:  # the page shows samples and estimated times, no calls
        header["sampling"] = run.sampling_text()
    return header


def _columns(records: list[tuple], names: tuple[str, ...]) -> dict[str, list[Any]]:
    """Column-wise lists (a compact JSON shape for many rows)."""
    columns: dict[str, list[Any]] = {name: [] for name in names}
    lists = list(columns.values())
    for record in records:
        for column, value in zip(lists, record):
            column.append(value)
    return columns


_FUNCTION_FIELDS = ("name", "file", "line", "kind", "calls", "pcalls", "exc", "self", "total",
                    "hist_count", "min", "mean", "p50", "p95", "p99", "max")
_NODE_FIELDS = ("parent", "func", "calls", "exc", "total", "self", "recursive")


def _rounded(records: list[tuple], float_fields: range) -> list[tuple]:
    """ns floats rounded to integers: shorter JSON, no precision a viewer needs."""
    return [tuple(round(value) if index in float_fields else value
                  for index, value in enumerate(record)) for record in records]


def _metric_pairs(profile: _core.Profile, name: str, *, nodes: bool) -> list[tuple[int, int]] | None:
    """(exclusive, inclusive) per function (or node) of a metric, None when absent."""
    names = [metric[0] for metric in profile.metrics()]
    if name not in names:
        return None
    index = names.index(name)
    return profile.node_metric(index) if nodes else profile.function_metric(index)


def _function_resources(profile: _core.Profile, tree: _core.Profile,
                        all_functions: list[tuple]) -> dict[str, list[int]]:
    """Optional function columns the page draws when present: cpu and offcpu
    (ns, callees included), mem (bytes allocated, callees included), io
    (bytes read + written). Rows past the profile's functions ("[other]")
    come from the pruned tree."""
    def column(name: str) -> list[int] | None:
        exact = _metric_pairs(profile, name, nodes=False)
        if exact is None:
            return None
        extra = _metric_pairs(tree, name, nodes=False) or []
        pairs = exact + extra[len(exact):len(all_functions)]
        return [int(total) for _own, total in pairs]

    columns: dict[str, list[int]] = {}
    samples = _metric_pairs(profile, "samples", nodes=False)
    if samples is not None:  # sampling mode: own samples per function
        extra = _metric_pairs(tree, "samples", nodes=False) or []
        columns["samples"] = [int(own) for own, _total in (samples + extra[len(samples):len(all_functions)])]
    cpu = column("cpu.ns")
    if cpu is not None:
        columns["cpu"] = cpu
        columns["offcpu"] = [max(0, round(record[8]) - value) for record, value in zip(all_functions, cpu)]
    mem = column("mem.alloc_bytes")
    if mem is not None:
        columns["mem"] = mem
    read, written = column("io.read_bytes"), column("io.write_bytes")
    if read is not None or written is not None:
        zeros = [0] * len(all_functions)
        columns["io"] = [a + b for a, b in zip(read or zeros, written or zeros)]
    return columns


def _node_resources(tree: _core.Profile) -> dict[str, list[int]]:
    """Optional node columns for the flame graph: own cpu (ns) and alloc (bytes)."""
    columns: dict[str, list[int]] = {}
    for key, name in (("cpu", "cpu.ns"), ("alloc", "mem.alloc_bytes")):
        pairs = _metric_pairs(tree, name, nodes=True)
        if pairs is not None:
            columns[key] = [int(own) for own, _total in pairs]
    return columns


def build_data(run: Run, *, max_nodes: int = MAX_NODES) -> dict[str, Any]:
    """The JSON the page reads. Functions come from the whole profile (exact);
    the call tree from a pruned copy when it has more than max_nodes nodes."""
    profile = run.profile
    if profile is None:
        raise RuntimeError("pipegauge: the run has not finished yet")
    correct = run.options.correct_overhead
    functions = profile.functions(correct)
    tree = profile
    pruned = False
    if max_nodes and profile.node_count > max_nodes + 1:
        tree = _core.prune(profile, max_nodes=max_nodes)
        pruned = True
    tree_functions = tree.functions(correct) if pruned else functions
    # "[other]" (added by pruning) has no row in the exact table.
    synthetic = len(tree_functions) - len(functions)
    all_functions = functions + tree_functions[len(functions):]
    function_columns = _columns(_rounded(all_functions, range(7, 16)), _FUNCTION_FIELDS)
    node_columns = _columns(_rounded(tree.nodes(correct), range(4, 6)), _NODE_FIELDS)
    function_columns.update(_function_resources(profile, tree, all_functions))
    node_columns.update(_node_resources(tree))
    data = {
        "version": DATA_VERSION,
        "header": _header(run, profile),
        "functions": function_columns,
        "synthetic_functions": synthetic,
        "nodes": node_columns,
        "tree": {"nodes": profile.node_count, "shown": tree.node_count, "pruned": pruned},
        "stages": stage_report(profile).to_json(),
        "timeline": profile.timeline(),
    }
    findings = analyse(profile, correct=correct, settings=configured_settings())
    data["findings"] = {"items": findings.to_json(), "meta": findings.meta_json()}
    lines = lineheat.report_data(profile, functions,
                                 started_epoch=lineheat.started_epoch_ns(profile.run))
    if lines is not None:
        data["line_heat"] = lines
    diff = baseline_diff(run)
    if diff is not None:
        data["diff"] = diff
    return data


def render_page(script: str, styles: tuple[str, ...], data: Any, title: str,
                subtitle: str = "profile report", extra_scripts: tuple[str, ...] = ()) -> str:
    """A self-contained page: the template with the shared units.js, the
    extra scripts (sections the page's script lists) and the page's script,
    its style sheets, and data embedded as escaped JSON."""
    script_text = "\n".join(_asset(name) for name in ("units.js", *extra_scripts, script))
    style = "\n".join(_asset(name) for name in styles)
    if re.search(r"</script|<!--", script_text, re.IGNORECASE) or "</style" in style.lower():
        raise RuntimeError("page assets must not contain </script>, <!-- or </style>")
    parts = {"css": style, "js": script_text, "data": embed_json(data), "title": _escape_html(title)}
    template = _asset("template.html").replace(">profile report<", f">{_escape_html(subtitle)}<")
    # One pass, so nothing inserted is scanned for placeholders again.
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], template)


def render_html(data: dict[str, Any]) -> str:
    """The whole page for data (see build_data)."""
    return render_page("report.js", ("report.css", "findings.css"), data,
                       f"pipegauge: {data['header'].get('name', 'run')}",
                       extra_scripts=("findings.js", "source.js"))


def report_html(run_or_profile: Union[Run, _core.Profile]) -> str:
    """The report page of a run (or a bare profile), pruned harder until it
    fits MAX_BYTES."""
    run = run_or_profile if isinstance(run_or_profile, Run) else Run.from_profile(run_or_profile)
    max_nodes = MAX_NODES
    while True:
        html = render_html(build_data(run, max_nodes=max_nodes))
        if len(html.encode("utf-8")) <= MAX_BYTES or max_nodes <= 1000:
            return html
        max_nodes //= 2


def render(run_or_profile: Union[Run, _core.Profile], path: str | os.PathLike[str]) -> Path:
    """Write the report of a run (or a bare profile) to path; returns path."""
    html = report_html(run_or_profile)
    target = Path(path)
    write_atomic(target, html)
    return target
