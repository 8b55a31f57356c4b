"""Pipeline stages of a run, ready to show: per-stage figures, auto-stages
when none were declared, the bottleneck verdict and the pipeline diagram.

The numbers come from the profile's stage table (C); this module only
derives ratios and words from them. Shared by ``pipegauge view --stages``,
the JSON export, summary.json and the HTML report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import _core
from ._units import format_duration_ns

AUTO_MIN_FRACTION = 0.01
"""An auto-stage (a direct callee of the entry function) takes at least
this share of the run."""

_WRAPPER_SHARE = 0.9
"""A node whose heaviest child holds this share of its time is a wrapper
(``<module>`` calling ``main``): the entry function is looked for below it."""


@dataclass
class StageStats:
    """One stage as reported. Times in seconds; None where not measured."""

    index: int
    name: str
    auto: bool  # derived from the call tree, not declared
    invocations: int
    records_in: int
    records_out: int
    filter_ratio: float | None  # records_out / records_in
    bytes: int
    exceptions: int
    own: float  # active time minus upstream wait and nested stages
    upstream: float  # waiting inside upstream stage iterators
    nested: float  # inside other stages it called
    suspended: float  # suspended at a yield (downstream busy) or an await
    wall: float  # first start to end, summed over invocations
    threads: int  # distinct threads in its spans
    cpu: float | None  # thread CPU time of measured activations
    cpu_measured: int
    io_read: float | None  # bytes, scaled up when only some invocations were measured
    io_write: float | None
    io_measured: int
    throughput_own: float | None  # records out per second of own time
    throughput_wall: float | None  # records out per second of wall time
    # heap bytes allocated in its own activations (nested stages excluded);
    # None when memory was not measured (--no-memory), not 0
    memory: int | None = None
    memory_measured: int = 0  # activations whose allocations were counted
    latency: dict[str, float] = field(default_factory=dict)  # per record, ns

    @property
    def records(self) -> int:
        """Records the stage handled: out, or in when it emits none (a sink)."""
        return self.records_out or self.records_in

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Bottleneck:
    stage: str
    own_per_thread: float  # seconds of own time per thread it ran on
    per_record: float | None  # seconds of own time per record
    next_stage: str | None
    factor: float | None  # how many times the next slowest
    text: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StageReport:
    stages: list[StageStats]
    spans: list[tuple[int, int, float, float, float, int]]  # stage, thread, start/end/busy ns, n
    bottleneck: Bottleneck | None
    auto: bool  # the stages are auto-stages
    log: dict[str, int]  # span log counters (coalesced, spans_dropped, lost)

    def diagram(self) -> str:
        """One line: stages in declaration order, the bottleneck in brackets."""
        if not self.stages:
            return ""
        names = []
        for stage in self.stages:
            if self.bottleneck is not None and stage.name == self.bottleneck.stage:
                names.append(f"[{stage.name}]")
            else:
                names.append(stage.name)
        return " -> ".join(names)

    def to_json(self) -> dict[str, Any]:
        return {
            "auto": self.auto,
            "stages": [stage.to_json() for stage in self.stages],
            "spans": [
                {"stage": s, "thread": t, "start_ns": a, "end_ns": b, "busy_ns": busy,
                 "invocations": n}
                for (s, t, a, b, busy, n) in self.spans
            ],
            "bottleneck": self.bottleneck.to_json() if self.bottleneck else None,
            "diagram": self.diagram(),
            "span_log": dict(self.log),
        }


def _rate(records: int, seconds: float) -> float | None:
    return records / seconds if records and seconds > 0 else None


def _declared(profile: _core.Profile) -> list[StageStats]:
    spans = profile.spans()
    threads: dict[int, set[int]] = {}
    for stage, thread, *_ in spans:
        threads.setdefault(stage, set()).add(thread)
    result = []
    for index, s in enumerate(profile.stages()):
        own, wall = s["own_ns"] * 1e-9, s["wall_ns"] * 1e-9
        records = s["records_out"] or s["records_in"]
        scale = s["invocations"] / s["io_measured"] if s["io_measured"] else 0.0
        result.append(StageStats(
            index=index, name=s["name"], auto=s["auto"], invocations=s["invocations"],
            records_in=s["records_in"], records_out=s["records_out"],
            filter_ratio=s["records_out"] / s["records_in"] if s["records_in"] else None,
            bytes=s["bytes"], exceptions=s["exceptions"], own=own,
            upstream=s["upstream_ns"] * 1e-9, nested=s["nested_ns"] * 1e-9,
            suspended=s["suspended_ns"] * 1e-9, wall=wall,
            threads=len(threads.get(index, ())) or 1,
            cpu=s["cpu_ns"] * 1e-9 if s["cpu_measured"] else None,
            cpu_measured=s["cpu_measured"],
            io_read=s["io_read_bytes"] * scale if s["io_measured"] else None,
            io_write=s["io_write_bytes"] * scale if s["io_measured"] else None,
            io_measured=s["io_measured"],
            throughput_own=_rate(records, own), throughput_wall=_rate(records, wall),
            latency=s["latency"] if s["latency"]["count"] else {},
            memory=s["memory_bytes"] if s["memory_measured"] else None,
            memory_measured=s["memory_measured"],
        ))
    return result


def _entry_node(nodes: list[tuple[Any, ...]], children: dict[int, list[int]]) -> int:
    """The entry function's node: the heaviest top-level call, descending
    through wrappers whose heaviest child holds nearly all of their time."""
    node = 0
    while True:
        kids = children.get(node, [])
        if not kids:
            # a leaf holds nearly all the time: it is the one stage
            return nodes[node][0] if node else node
        heaviest = max(kids, key=lambda k: nodes[k][4])
        if node != 0 and nodes[heaviest][4] < _WRAPPER_SHARE * nodes[node][4]:
            return node
        node = heaviest


def _auto(profile: _core.Profile, duration_ns: float) -> list[StageStats]:
    """Direct callees of the entry function taking >= 1% of the run, in call
    tree order; no records (nothing declared them)."""
    nodes = profile.nodes(True)
    if len(nodes) < 2 or duration_ns <= 0:
        return []
    children: dict[int, list[int]] = {}
    for index, node in enumerate(nodes[1:], start=1):
        children.setdefault(node[0], []).append(index)
    entry = _entry_node(nodes, children)
    functions = profile.functions(True)
    totals: dict[int, list[float]] = {}  # func -> [calls, inclusive_ns, exc]
    for kid in children.get(entry, []):
        parent, func, calls, exc_exits, inclusive, _exclusive, _recursive = nodes[kid]
        entry_total = totals.setdefault(func, [0, 0.0, 0])
        entry_total[0] += calls
        entry_total[1] += inclusive
        entry_total[2] += exc_exits
    result = []
    for func, (calls, inclusive, exc_exits) in totals.items():
        if inclusive < AUTO_MIN_FRACTION * duration_ns:
            continue
        seconds = inclusive * 1e-9
        result.append(StageStats(
            index=len(result), name=functions[func][0], auto=True, invocations=int(calls),
            records_in=0, records_out=0, filter_ratio=None, bytes=0,
            exceptions=int(exc_exits), own=seconds, upstream=0.0, nested=0.0,
            suspended=0.0, wall=seconds, threads=1, cpu=None, cpu_measured=0,
            io_read=None, io_write=None, io_measured=0, throughput_own=None,
            throughput_wall=None,
        ))
    return result


def _bottleneck(stages: list[StageStats]) -> Bottleneck | None:
    """The stage with the most own time per thread it ran on limits a
    pipeline whose records pass through every stage."""
    ranked = sorted(stages, key=lambda s: s.own / s.threads, reverse=True)
    if not ranked or ranked[0].own <= 0:
        return None
    top = ranked[0]
    load = top.own / top.threads
    per_record = top.own / top.records if top.records else None
    following = ranked[1] if len(ranked) > 1 else None
    next_load = following.own / following.threads if following else 0.0
    factor = load / next_load if following and next_load > 0 else None
    text = f"{top.name} limits throughput: "
    if per_record is not None:
        text += f"{format_duration_ns(per_record * 1e9)}/record own time"
    else:
        text += f"{format_duration_ns(load * 1e9)} own time"
    if top.threads > 1:
        text += f" over {top.threads} threads"
    if following is not None:
        text += (f", {factor:.1f}x the next slowest ({following.name})" if factor
                 else f", the others take no measurable time")
    return Bottleneck(stage=top.name, own_per_thread=load, per_record=per_record,
                      next_stage=following.name if following else None, factor=factor,
                      text=text)


def stage_report(profile: _core.Profile, *, auto: bool = True) -> StageReport:
    """The stages of profile (declared, else auto-stages when auto)."""
    stages = _declared(profile)
    spans = [tuple(span) for span in profile.spans()]
    is_auto = False
    if not stages and auto:
        stages = _auto(profile, float(profile.run.get("duration_ns", 0.0)))
        is_auto = bool(stages)
    return StageReport(stages=stages, spans=spans, bottleneck=_bottleneck(stages),  # type: ignore[arg-type]
                       auto=is_auto, log=dict(profile.stage_log))
