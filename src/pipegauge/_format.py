"""Pure-Python reader of the pipegauge profile file, format 1.x.

This is the second implementation of ``docs/format.md``, beside the C reader
in ``src/engine/pg_format.c``. It exists to be a test oracle: the C writer's
output is checked against it, and both readers apply the same rules in the
same order, so for any bytes they either both accept the same profile or
both reject it with the same kind of error.

It needs only the standard library and never imports the native module.

    >>> profile = read_profile("run.pgprof")          # doctest: +SKIP
    >>> profile["functions"][0]["name"], profile["run"]["ns_per_unit"]

Times in ``nodes`` and histograms are in the profile's units; multiply by
``run["ns_per_unit"]`` for nanoseconds.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from typing import Any, Final, TypedDict

__all__ = [
    "FORMAT_VERSION",
    "HIST_BUCKETS",
    "ProfileData",
    "ProfileFormatError",
    "bucket_low",
    "bucket_width",
    "read_profile",
]

MAGIC: Final = b"\x89PGPROF\n"
FORMAT_VERSION: Final = (1, 1)
HEADER_SIZE: Final = 16
SECTION_HEADER_SIZE: Final = 16

# Histogram layout (src/engine/pg_hist.h): 128 exact buckets for 0..127,
# then every power of two split into 128 equal buckets.
HIST_SUB_BITS: Final = 7
HIST_SUB: Final = 1 << HIST_SUB_BITS
HIST_ROWS: Final = 64 - HIST_SUB_BITS + 1
HIST_BUCKETS: Final = HIST_ROWS * HIST_SUB

_U32_MAX: Final = 0xFFFFFFFF
_U64_MAX: Final = 0xFFFFFFFFFFFFFFFF
# Largest element count the C model can index (PG_NONE - 2).
_MAX_COUNT: Final = _U32_MAX - 2

# Fewest payload bytes per element: a larger count cannot be honest.
_MIN_STRING_BYTES: Final = 1
_MIN_META_BYTES: Final = 2
_MIN_FUNC_BYTES: Final = 4
_MIN_NODE_BYTES: Final = 7
_MIN_BUCKET_BYTES: Final = 2
_MIN_PROCESS_BYTES: Final = 9
_PROCESS_STATE_MAX: Final = 2  # 0 finished, 1 lost, 2 running
_MIN_STAGE_BYTES: Final = 24
_MIN_SPAN_BYTES: Final = 6
_MIN_METRIC_BYTES: Final = 4
_MIN_VALUE_BYTES: Final = 2
# Most metrics a profile holds (PG_METRIC_LIMIT in src/engine/pg_profile.h).
METRIC_LIMIT: Final = 64
_MIN_SAMPLE_BYTES: Final = 10
_MIN_DEVICE_BYTES: Final = 2
_GPU_FIGURES: Final = 3  # busy_ns, memory_bytes, process_bytes per device
_TIMELINE_MAX: Final = 1 << 24  # samples (PG_FORMAT_TIMELINE_MAX)
_MAX_GPUS: Final = 16  # PG_TIMELINE_MAX_GPUS
# Timeline sample fields after the gap, in file order (src/engine/pg_timeline.h).
SAMPLE_FIELDS: Final = (
    "dt_ns", "rss_bytes", "threads", "cpu_user_ns", "cpu_system_ns",
    "read_chars", "write_chars", "read_bytes", "write_bytes",
)

_TAG_BYTES: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")
_END: Final = b"END "
_REQUIRED: Final = frozenset([b"RUN ", b"STRS", b"FUNC", b"NODE", b"HIST"])
# Sections that must already have been read when a section starts.
_AFTER: Final = {
    b"RUN ": frozenset(),
    b"META": frozenset(),
    b"STRS": frozenset(),
    b"FUNC": frozenset([b"STRS"]),
    b"NODE": frozenset([b"FUNC"]),
    b"HIST": frozenset([b"FUNC"]),
    b"PRCS": frozenset(),
    b"STGS": frozenset(),
    b"SSPN": frozenset([b"STGS"]),
    b"RMET": frozenset([b"STRS", b"NODE"]),
    b"TLIN": frozenset(),
    b"TGPU": frozenset([b"TLIN"]),
    b"ITHR": frozenset(),
    b"LINE": frozenset([b"FUNC"]),
}

# The one-line texts of the C error codes (src/engine/pg_error.c).
_MESSAGES: Final = {
    "not_profile": "not a pipegauge profile (bad magic bytes)",
    "version": "unsupported profile format version",
    "truncated": "profile file is truncated",
    "corrupt": "profile file is corrupt",
    "limit": "profile exceeds a format limit",
}


class ProfileFormatError(ValueError):
    """The bytes are not a readable profile.

    ``kind`` names the C error code it corresponds to: ``"not_profile"``
    (PG_ERR_NOT_PROFILE), ``"version"``, ``"truncated"``, ``"corrupt"`` or
    ``"limit"``. The message is one line: the C message, then a detail.
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{_MESSAGES[kind]}: {detail}")
        self.kind = kind


class Histogram(TypedDict):
    count: int  # values recorded
    sum: int  # sum of values, modulo 2**64
    min: int  # smallest value; 2**64 - 1 when empty (as in C)
    max: int  # largest value; 0 when empty
    buckets: dict[int, int]  # bucket index -> count, non-zero only


class Function(TypedDict):
    name: str
    file: str
    line: int
    kind: int  # 0 = Python code, 1 = builtin / C function
    hist: Histogram  # per-call inclusive time, units


class Node(TypedDict):
    parent: int | None  # None for the root (node 0)
    func: int | None  # None for the root
    calls: int
    exc_exits: int
    events: int
    inclusive: int  # units
    exclusive: int  # units


class Process(TypedDict):
    pid: int
    parent_pid: int  # 0 when unknown
    role: str  # "main", "worker (spawn)", "subprocess", ...
    state: int  # 0 finished, 1 lost (killed; last flush kept), 2 still running
    start_epoch_ns: int
    duration_ns: int
    events: int
    calls: int
    busy_ns: int  # time inside its profiled code


class Metric(TypedDict):
    name: str  # dotted, e.g. "mem.alloc_bytes"
    unit: str  # "bytes", "count", "ns" or "units"
    merge: int  # 0 = values add up, 1 = the larger value wins
    values: dict[int, int]  # node index -> value charged to the node itself, non-zero only


class RunStats(TypedDict):
    ns_per_unit: float
    event_cost_ns: float
    events: int
    start_epoch_ns: int
    duration_ns: int
    profiler_memory: int
    threads: int
    lost_events: int
    unmatched_events: int


# The counters of a stage, in file order (section STGS).
STAGE_FIELDS: Final = (
    "flags", "invocations", "records_in", "records_out", "bytes", "exceptions", "own",
    "upstream", "nested", "suspended", "wall", "cpu_ns", "cpu_invocations",
    "io_read_bytes", "io_write_bytes", "io_invocations", "mem_allocated", "mem_activations",
)


class Span(TypedDict):
    stage: int  # index into stages
    thread: int  # OS thread id
    start: int  # units since the run started
    end: int  # units since the run started
    busy: int  # units of own time inside the span
    invocations: int  # invocations coalesced into the span, >= 1


class Stages(TypedDict):
    stages: list[dict[str, Any]]  # name, STAGE_FIELDS, latency (a Histogram)
    spans: list[Span]
    coalesced: int  # times the span log was coalesced
    spans_dropped: int
    lost: int


class GpuDevice(TypedDict):
    name: str
    memory_total: int  # bytes


class Timeline(TypedDict):
    interval_ns: int  # the sampler's period
    stride: int  # raw samples per stored sample (doubles at each downsampling)
    # One dict per sample: t_ns (start, ns since the run started) and
    # SAMPLE_FIELDS; "gpu": one (busy_ns, memory_bytes, process_bytes)
    # tuple per device.
    samples: list[dict[str, object]]
    gpus: list[GpuDevice]


class ThreadIO(TypedDict):
    tid: int  # kernel thread id; 0 for the whole process
    name: str  # OS thread name
    flags: int  # 1 process row, 2 alive at start, 4 exited before stop
    rchar: int
    wchar: int
    syscr: int
    syscw: int
    read_bytes: int
    write_bytes: int
    hooked_read_bytes: int
    hooked_write_bytes: int
    hooked_read_ops: int
    hooked_write_ops: int
    hooked_recv_bytes: int
    hooked_send_bytes: int
    hooked_recv_ops: int
    hooked_send_ops: int


THREAD_IO_COUNTERS: Final = (
    "rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes",
    "hooked_read_bytes", "hooked_write_bytes", "hooked_read_ops", "hooked_write_ops",
    "hooked_recv_bytes", "hooked_send_bytes", "hooked_recv_ops", "hooked_send_ops",
)
_MIN_THREAD_IO_BYTES: Final = 17
_THREAD_NAME_SIZE: Final = 16
_THREAD_IO_FLAGS: Final = 7


class LineHeat(TypedDict):
    func: int  # function index
    line: int  # source line (0 = unknown)
    self: int  # units in the function's own frame on this line
    total: int  # units with this line current, callees included
    hits: int  # line executions (deterministic) or samples (sample mode)


_MIN_LINE_BYTES: Final = 5


class Profile(TypedDict, total=False):
    version: tuple[int, int]
    run: RunStats
    meta: dict[str, str]
    strings: list[str]
    functions: list[Function]
    nodes: list[Node]
    processes: list[Process]  # PRCS; empty for a single-process run
    stages: Stages  # empty lists when the file has no STGS section
    metrics: list[Metric]
    timeline: Timeline  # only when the file has a TLIN section
    thread_io: list[ThreadIO]  # ITHR section; [] when absent
    lines: list[LineHeat]  # LINE section, file order; [] when absent


class ProfileData(dict):  # type: ignore[type-arg]
    """The dict read_profile returns (keys as in Profile), plus the same
    accessors as the native profile object."""

    def line_heat(self) -> list[tuple[int, int, int, int, int]]:
        """(func_index, line, self_ns, total_ns, hits) per line, file order;
        nanoseconds rounded from units as the native profile does."""
        unit = float(self["run"]["ns_per_unit"])
        return [
            (r["func"], r["line"], _units_to_ns(r["self"], unit), _units_to_ns(r["total"], unit),
             r["hits"])
            for r in self["lines"]
        ]


def _units_to_ns(units: int, ns_per_unit: float) -> int:
    # Same arithmetic as the binding: a double product, rounded half up,
    # saturating at 2**64 - 1.
    value = float(units) * ns_per_unit
    return _U64_MAX if value >= 18446744073709549568.0 else int(value + 0.5)


def bucket_low(bucket: int) -> int:
    """Smallest value that falls in histogram bucket ``bucket``."""
    row, sub = bucket >> HIST_SUB_BITS, bucket & (HIST_SUB - 1)
    return sub if row == 0 else (HIST_SUB + sub) << (row - 1)


def bucket_width(bucket: int) -> int:
    """Number of distinct values histogram bucket ``bucket`` holds."""
    row = bucket >> HIST_SUB_BITS
    return 1 if row == 0 else 1 << (row - 1)


def _corrupt(detail: str) -> ProfileFormatError:
    return ProfileFormatError("corrupt", detail)


def _decode(raw: bytes) -> str:
    # Names come from Python as UTF-8; surrogateescape keeps any other byte
    # string readable and round-trippable instead of failing here.
    return raw.decode("utf-8", "surrogateescape")


class _Payload:
    """Cursor over one CRC-checked section payload. Running off its end is
    corruption, not truncation: the payload's length was declared."""

    def __init__(self, data: bytes, start: int, end: int, tag: str) -> None:
        self.data = data
        self.pos = start
        self.end = end
        self.tag = tag

    def left(self) -> int:
        return self.end - self.pos

    def take(self, size: int) -> bytes:
        if size > self.left():
            raise _corrupt(f"section {self.tag} ends early")
        raw = self.data[self.pos : self.pos + size]
        self.pos += size
        return raw

    def uv(self) -> int:
        """Unsigned LEB128: at most 10 bytes, no overflow, no overlong form."""
        value = 0
        for i in range(10):
            if self.pos >= self.end:
                raise _corrupt(f"section {self.tag} ends inside a varint")
            byte = self.data[self.pos]
            self.pos += 1
            if i == 9 and byte > 1:
                raise _corrupt(f"varint over 64 bits in section {self.tag}")
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if byte == 0 and i > 0:
                    raise _corrupt(f"overlong varint in section {self.tag}")
                return value
        raise _corrupt(f"varint over 64 bits in section {self.tag}")  # unreachable

    def f64(self) -> float:
        value: float = struct.unpack("<d", self.take(8))[0]
        return value

    def count(self, min_bytes: int, what: str) -> int:
        n = self.uv()
        if n > _MAX_COUNT:
            raise ProfileFormatError("limit", f"{n} {what}")
        if n > self.left() // min_bytes:
            raise _corrupt(f"{n} {what} cannot fit in section {self.tag}")
        return n

    def text(self) -> bytes:
        n = self.uv()
        if n > self.left():
            raise _corrupt(f"string longer than section {self.tag}")
        raw = self.take(n)
        if b"\0" in raw:
            raise _corrupt(f"NUL byte in a string of section {self.tag}")
        if n > _U32_MAX - 1:
            raise ProfileFormatError("limit", f"string of {n} bytes")
        return raw


def _parse_run(p: _Payload, profile: Profile) -> None:
    ns_per_unit, event_cost_ns = p.f64(), p.f64()
    run: RunStats = {
        "ns_per_unit": ns_per_unit,
        "event_cost_ns": event_cost_ns,
        "events": p.uv(),
        "start_epoch_ns": p.uv(),
        "duration_ns": p.uv(),
        "profiler_memory": p.uv(),
        "threads": p.uv(),
        "lost_events": p.uv(),
        "unmatched_events": p.uv(),
    }
    if not (math.isfinite(ns_per_unit) and ns_per_unit > 0.0):
        raise _corrupt(f"ns_per_unit {ns_per_unit!r} is not a positive number")
    if not (math.isfinite(event_cost_ns) and event_cost_ns >= 0.0):
        raise _corrupt(f"event_cost_ns {event_cost_ns!r} is not a cost")
    profile["run"] = run


def _parse_meta(p: _Payload, profile: Profile) -> None:
    entries = []
    for _ in range(p.count(_MIN_META_BYTES, "metadata entries")):
        key = p.text()
        entries.append((key, p.text()))
    meta: dict[str, str] = {}
    for key, value in entries:
        name = _decode(key)
        if name in meta:
            raise _corrupt(f"metadata key {name!r} repeated")
        meta[name] = _decode(value)
    profile["meta"] = meta


def _parse_strings(p: _Payload, profile: Profile) -> None:
    count = p.count(_MIN_STRING_BYTES, "strings")
    if count == 0:
        raise _corrupt("no strings (string 0 must be the empty string)")
    seen: set[bytes] = set()
    strings: list[str] = []
    for i in range(count):
        raw = p.text()
        if i == 0 and raw:
            raise _corrupt("string 0 is not empty")
        if raw in seen:
            raise _corrupt(f"string {i} repeats an earlier one")
        seen.add(raw)
        strings.append(_decode(raw))
    profile["strings"] = strings


def _parse_funcs(p: _Payload, profile: Profile) -> None:
    strings = profile["strings"]
    functions: list[Function] = []
    for i in range(p.count(_MIN_FUNC_BYTES, "functions")):
        name, file, line, kind = p.uv(), p.uv(), p.uv(), p.uv()
        if name >= len(strings) or file >= len(strings):
            raise _corrupt(f"function {i} names a string out of range")
        if line > _U32_MAX or kind > 1:
            raise _corrupt(f"function {i} has line {line}, kind {kind}")
        hist: Histogram = {"count": 0, "sum": 0, "min": _U64_MAX, "max": 0, "buckets": {}}
        functions.append(
            {"name": strings[name], "file": strings[file], "line": line, "kind": kind, "hist": hist}
        )
    profile["functions"] = functions


def _parse_nodes(p: _Payload, profile: Profile) -> None:
    count = p.count(_MIN_NODE_BYTES, "nodes")
    if count == 0:
        raise _corrupt("no root node")
    func_count = len(profile["functions"])
    nodes: list[Node] = []
    for i in range(count):
        parent, func = p.uv(), p.uv()
        calls, exc_exits, events, inclusive, exclusive = (p.uv() for _ in range(5))
        if i == 0:
            if parent != 0 or func != 0:
                raise _corrupt("node 0 is not the root")
        elif parent == 0 or parent > i or func == 0 or func > func_count:
            raise _corrupt(f"node {i} has parent {parent - 1}, function {func - 1}")
        nodes.append(
            {
                "parent": parent - 1 if i else None,
                "func": func - 1 if i else None,
                "calls": calls,
                "exc_exits": exc_exits,
                "events": events,
                "inclusive": inclusive,
                "exclusive": exclusive,
            }
        )
    pairs = {(n["parent"], n["func"]) for n in nodes[1:]}
    if len(pairs) != len(nodes) - 1:
        raise _corrupt("two nodes share a (parent, function) pair")
    profile["nodes"] = nodes


def _parse_buckets(p: _Payload, count: int, where: str) -> dict[int, int]:
    nonzero = p.uv()
    if nonzero > HIST_BUCKETS or nonzero > p.left() // _MIN_BUCKET_BYTES:
        raise _corrupt(f"{nonzero} buckets in {where}")
    buckets: dict[int, int] = {}
    index = total = 0
    for i in range(nonzero):
        delta, n = p.uv(), p.uv()
        if (i > 0 and delta == 0) or delta >= HIST_BUCKETS:
            raise _corrupt(f"bucket index delta {delta} in {where}")
        if n == 0 or n > count - total:
            raise _corrupt(f"bucket counts exceed the value count in {where}")
        index = delta if i == 0 else index + delta
        if index >= HIST_BUCKETS:
            raise _corrupt(f"bucket index {index} in {where}")
        total += n
        buckets[index] = n
    return buckets


def _parse_hists(p: _Payload, profile: Profile) -> None:
    functions = profile["functions"]
    count = p.uv()
    if count != len(functions):
        raise _corrupt(f"{count} histograms for {len(functions)} functions")
    for i, function in enumerate(functions):
        function["hist"] = _parse_hist(p, f"histogram {i}")


def _parse_hist(p: _Payload, where: str) -> Histogram:
    values, total, low, high = p.uv(), p.uv(), p.uv(), p.uv()
    empty_ok = total == 0 and low == 0 and high == 0
    if (values == 0 and not empty_ok) or (values > 0 and low > high):
        raise _corrupt(f"{where} has count {values}, min {low}, max {high}")
    buckets = _parse_buckets(p, values, where)
    return {
        "count": values,
        "sum": total,
        "min": low if values else _U64_MAX,
        "max": high,
        "buckets": buckets,
    }


def _parse_stages(p: _Payload, profile: Profile) -> None:
    count = p.count(_MIN_STAGE_BYTES, "stages")
    if count == 0:
        raise _corrupt("an empty stage table")
    stages: list[dict[str, Any]] = []
    raw_names: set[bytes] = set()
    duplicated = False
    for i in range(count):
        raw = p.text()
        if not raw:
            raise _corrupt(f"stage {i} has no name")
        duplicated = duplicated or raw in raw_names
        raw_names.add(raw)
        stage: dict[str, Any] = {"name": _decode(raw)}
        for field in STAGE_FIELDS:
            stage[field] = p.uv()
        if stage["flags"] > 1:
            raise _corrupt(f"stage {i} has flags {stage['flags']}")
        stage["latency"] = _parse_hist(p, f"stage {i} latency")
        stages.append(stage)
    coalesced, dropped, lost = p.uv(), p.uv(), p.uv()
    if coalesced > _U32_MAX:
        raise _corrupt(f"span log coalesced {coalesced} times")
    if duplicated:
        raise _corrupt("two stages share a name")
    profile["stages"] = {"stages": stages, "spans": [], "coalesced": coalesced,
                         "spans_dropped": dropped, "lost": lost}


def _parse_spans(p: _Payload, profile: Profile) -> None:
    count = p.count(_MIN_SPAN_BYTES, "spans")
    if count == 0:
        raise _corrupt("an empty span log")
    table = profile["stages"]
    spans: list[Span] = []
    for i in range(count):
        stage, thread, start, duration, busy, invocations = (p.uv() for _ in range(6))
        if (stage >= len(table["stages"]) or duration > _U64_MAX - start or busy > duration
                or invocations == 0):
            raise _corrupt(f"span {i} is inconsistent")
        spans.append({"stage": stage, "thread": thread, "start": start,
                      "end": start + duration, "busy": busy, "invocations": invocations})
    table["spans"] = spans


def _parse_processes(p: _Payload, profile: Profile) -> None:
    processes: list[Process] = []
    for _ in range(p.count(_MIN_PROCESS_BYTES, "processes")):
        pid, parent_pid = p.uv(), p.uv()
        role = _decode(p.text())
        state = p.uv()
        counters = [p.uv() for _ in range(5)]
        if pid > _U32_MAX or parent_pid > _U32_MAX:
            raise _corrupt(f"process id {max(pid, parent_pid)} does not fit 32 bits")
        if state > _PROCESS_STATE_MAX:
            raise _corrupt(f"process state {state} unknown")
        processes.append({
            "pid": pid, "parent_pid": parent_pid, "role": role, "state": state,
            "start_epoch_ns": counters[0], "duration_ns": counters[1], "events": counters[2],
            "calls": counters[3], "busy_ns": counters[4],
        })
    profile["processes"] = processes


def _parse_metric_values(p: _Payload, node_count: int, where: str) -> dict[int, int]:
    nonzero = p.uv()
    if nonzero > node_count or nonzero > p.left() // _MIN_VALUE_BYTES:
        raise _corrupt(f"{nonzero} values in {where}")
    values: dict[int, int] = {}
    node = 0
    for i in range(nonzero):
        delta, value = p.uv(), p.uv()
        if (i > 0 and delta == 0) or delta >= node_count or value == 0:
            raise _corrupt(f"node delta {delta}, value {value} in {where}")
        node = delta if i == 0 else node + delta
        if node >= node_count:
            raise _corrupt(f"node {node} out of range in {where}")
        values[node] = value
    return values


def _parse_metrics(p: _Payload, profile: Profile) -> None:
    count = p.count(_MIN_METRIC_BYTES, "metrics")
    if count > METRIC_LIMIT:
        raise ProfileFormatError("limit", f"{count} metrics, at most {METRIC_LIMIT}")
    strings = profile["strings"]
    metrics: list[Metric] = []
    names: set[int] = set()
    for i in range(count):
        name, unit, merge = p.uv(), p.uv(), p.uv()
        if name >= len(strings) or unit >= len(strings) or merge > 1:
            raise _corrupt(f"metric {i} has name {name}, unit {unit}, merge {merge}")
        if name in names:
            raise _corrupt(f"two metrics named {strings[name]!r}")
        names.add(name)
        values = _parse_metric_values(p, len(profile["nodes"]), f"metric {i}")
        metrics.append({"name": strings[name], "unit": strings[unit], "merge": merge, "values": values})
    profile["metrics"] = metrics


def _parse_timeline(p: _Payload, profile: Profile) -> None:
    interval, stride = p.uv(), p.uv()
    if interval == 0 or stride == 0 or stride > _U32_MAX:
        raise _corrupt(f"timeline interval {interval}, stride {stride}")
    count = p.count(_MIN_SAMPLE_BYTES, "timeline samples")
    if count > _TIMELINE_MAX:
        raise ProfileFormatError("limit", f"{count} timeline samples")
    samples: list[dict[str, object]] = []
    end = 0
    for i in range(count):
        gap = p.uv()
        sample: dict[str, object] = {"t_ns": end + gap}
        for name in SAMPLE_FIELDS:
            sample[name] = p.uv()
        start, length = end + gap, int(sample["dt_ns"])  # type: ignore[call-overload]
        if length == 0 or start > _U64_MAX or start + length > _U64_MAX:
            raise _corrupt(f"timeline sample {i} at {start} lasts {length} ns")
        sample["gpu"] = []
        samples.append(sample)
        end = start + length
    profile["timeline"] = {"interval_ns": interval, "stride": stride, "samples": samples, "gpus": []}


def _parse_gpu(p: _Payload, profile: Profile) -> None:
    timeline = profile["timeline"]
    devices = p.count(_MIN_DEVICE_BYTES, "GPU devices")
    if devices == 0 or devices > _MAX_GPUS:
        raise _corrupt(f"{devices} GPU devices")
    gpus: list[GpuDevice] = []
    for _ in range(devices):
        name = _decode(p.text())
        gpus.append({"name": name, "memory_total": p.uv()})
    samples = timeline["samples"]
    if len(samples) * devices > p.left() // _GPU_FIGURES:
        raise _corrupt(f"GPU figures for {len(samples)} samples cannot fit")
    for i, sample in enumerate(samples):
        figures = []
        for _ in range(devices):
            busy, memory, process = p.uv(), p.uv(), p.uv()
            if busy > int(sample["dt_ns"]):  # type: ignore[call-overload]
                raise _corrupt(f"GPU busy {busy} ns in a {sample['dt_ns']} ns sample {i}")
            figures.append((busy, memory, process))
        sample["gpu"] = figures
    timeline["gpus"] = gpus


def _parse_thread_io(p: _Payload, profile: Profile) -> None:
    rows: list[ThreadIO] = []
    for _ in range(p.count(_MIN_THREAD_IO_BYTES, "thread I/O rows")):
        tid = p.uv()
        name = p.text()
        if len(name) >= _THREAD_NAME_SIZE:
            raise _corrupt(f"thread name of {len(name)} bytes")
        flags = p.uv()
        counters = [p.uv() for _ in THREAD_IO_COUNTERS]
        if flags > _THREAD_IO_FLAGS or (tid == 0) != bool(flags & 1):
            raise _corrupt(f"thread I/O row with tid {tid} and flags {flags}")
        row = {"tid": tid, "name": _decode(name), "flags": flags}
        row.update(zip(THREAD_IO_COUNTERS, counters))
        rows.append(row)  # type: ignore[arg-type]
    profile["thread_io"] = rows


def _parse_lines(p: _Payload, profile: Profile) -> None:
    count = p.count(_MIN_LINE_BYTES, "line heat rows")
    if count == 0:
        raise _corrupt("empty line heat section")
    functions = len(profile["functions"])
    rows: list[LineHeat] = []
    seen: set[tuple[int, int]] = set()
    for _ in range(count):
        func, line, own, total, hits = p.uv(), p.uv(), p.uv(), p.uv(), p.uv()
        if func >= functions or line > _U32_MAX or own > total:
            raise _corrupt(f"line heat row ({func}, {line}, {own}, {total})")
        if (func, line) in seen:
            raise _corrupt(f"line heat row ({func}, {line}) listed twice")
        seen.add((func, line))
        rows.append({"func": func, "line": line, "self": own, "total": total, "hits": hits})
    profile["lines"] = rows


_PARSERS: Final = {
    b"RUN ": _parse_run,
    b"META": _parse_meta,
    b"STRS": _parse_strings,
    b"FUNC": _parse_funcs,
    b"NODE": _parse_nodes,
    b"HIST": _parse_hists,
    b"PRCS": _parse_processes,
    b"STGS": _parse_stages,
    b"SSPN": _parse_spans,
    b"RMET": _parse_metrics,
    b"TLIN": _parse_timeline,
    b"TGPU": _parse_gpu,
    b"ITHR": _parse_thread_io,
    b"LINE": _parse_lines,
}


def _read_header(data: bytes) -> tuple[int, int]:
    if data[: len(MAGIC)] != MAGIC[: min(len(data), len(MAGIC))]:
        raise ProfileFormatError("not_profile", "the file does not start with \\x89PGPROF\\n")
    if len(data) < HEADER_SIZE:
        raise ProfileFormatError("truncated", f"{len(data)}-byte file ends inside the header")
    major, minor, flags = struct.unpack_from("<HHI", data, len(MAGIC))
    if major != FORMAT_VERSION[0] or flags != 0:
        raise ProfileFormatError(
            "version", f"{major}.{minor} (flags {flags:#x}); this reader knows 1.x, flags 0"
        )
    return major, minor


def _parse(data: bytes) -> Profile:
    profile: Profile = {
        "version": _read_header(data),
        "run": {},  # type: ignore[typeddict-item]  # filled by its section
        "meta": {},
        "strings": [],
        "functions": [],
        "nodes": [],
        "processes": [],
        "stages": {"stages": [], "spans": [], "coalesced": 0, "spans_dropped": 0, "lost": 0},
        "metrics": [],
        "thread_io": [],
        "lines": [],
    }
    seen: set[bytes] = set()
    pos = HEADER_SIZE
    while True:
        if len(data) - pos < SECTION_HEADER_SIZE:
            raise ProfileFormatError("truncated", f"no complete section at offset {pos}")
        tag = data[pos : pos + 4]
        crc, length = struct.unpack_from("<IQ", data, pos + 4)
        pos += SECTION_HEADER_SIZE
        name = repr(tag.decode("latin-1"))
        if not all(byte in _TAG_BYTES for byte in tag):
            raise _corrupt(f"bad section tag {name} at offset {pos - SECTION_HEADER_SIZE}")
        if length > len(data) - pos:
            raise ProfileFormatError("truncated", f"section {name} ends past the file")
        if zlib.crc32(data[pos : pos + length]) != crc:
            raise _corrupt(f"CRC mismatch in section {name}")
        start, pos = pos, pos + length
        if tag == _END:
            if length != 0 or pos != len(data):
                raise _corrupt("data in or after the END section")
            if not _REQUIRED <= seen:
                missing = sorted(t.decode() for t in _REQUIRED - seen)
                raise _corrupt(f"missing sections {missing}")
            return profile
        parser = _PARSERS.get(tag)
        if parser is None:
            continue  # a section of a later 1.x version: skipped
        if tag in seen or not _AFTER[tag] <= seen:
            raise _corrupt(f"section {name} repeated or out of order")
        seen.add(tag)
        payload = _Payload(data, start, pos, name)
        parser(payload, profile)
        if payload.left():
            raise _corrupt(f"{payload.left()} unexpected bytes at the end of section {name}")


def read_profile(source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> ProfileData:
    """Read and validate a profile file (a path) or file image (bytes).

    Returns a dict with keys ``version`` ((major, minor)), ``run``, ``meta``,
    ``strings``, ``functions`` (name, file, line, kind, hist) and ``nodes``
    (parent, func, calls, exc_exits, events, inclusive, exclusive; the
    root's parent and func are None) and ``metrics`` (name, unit, merge,
    values: node index -> non-zero value; empty without an ``RMET`` section)
    and ``lines`` (func, line, self, total, hits in units; empty without a
    ``LINE`` section; ``line_heat()`` gives them in nanoseconds, as the native
    profile does). Raises ProfileFormatError for bad
    bytes and OSError when a path cannot be read.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        with open(source, "rb") as stream:
            data = stream.read()
    return ProfileData(_parse(data))


def _main(argv: list[str]) -> int:
    """``python -m pipegauge._format FILE...``: validate, print a summary."""
    status = 0
    for path in argv:
        try:
            profile = read_profile(path)
        except (ProfileFormatError, OSError) as error:
            print(f"{path}: {error}")
            status = 1
            continue
        major, minor = profile["version"]
        print(
            f"{path}: format {major}.{minor}, {len(profile['functions'])} functions, "
            f"{len(profile['nodes'])} nodes, {len(profile['strings'])} strings"
        )
    return status


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
