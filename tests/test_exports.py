"""Exports written by the C engine (``_core.export`` and ``pipegauge export``),
each read back by an independent reader written here from the format's
published specification, never from our encoder:

- folded: a collapsed-stack parser (split at the last space, then at ';');
- speedscope: a JSON Schema written from speedscope's file-format spec,
  checked with the ``jsonschema`` package;
- pprof: the ``protobuf`` package with message classes built at test time
  from descriptors declared here with profile.proto's field numbers;
- chrome: ``json`` plus the trace-event rules (complete events nest).

Every reader's result is compared with the profile itself (its call tree
from ``Profile.nodes``), with and without overhead correction.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from pipegauge import _core

# A name that needs every escape: quote, backslash, ';', space, newline,
# a control character, U+2028/U+2029 and non-ASCII letters.
WEIRD = 'we"ird\\ na;me\n\x01\u2028\u2029ü'

WORKLOAD = f"""
    import sys
    sys.path.insert(0, "odd dir;ü")
    import helper

    def leaf(n):
        return sum(range(n))

    def middle(k):
        return [leaf(50) for _ in range(k)]

    def weird():
        return len(middle(3))

    kw = {{"co_name": {WEIRD!r}}}
    if sys.version_info >= (3, 11):
        kw["co_qualname"] = {WEIRD!r}
    weird.__code__ = weird.__code__.replace(**kw)

    def countdown(n):
        return 0 if n == 0 else countdown(n - 1)

    def main():
        middle(20)
        weird()
        countdown(15)
        helper.work(30)

    main()
"""

HELPER = """
    def work(n):
        return sorted(str(i) for i in range(n))
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real profiled run of WORKLOAD (module-scoped: one child process)."""
    import subprocess
    import textwrap

    from conftest import child_env, pipegauge_command

    workdir = tmp_path_factory.mktemp("exports")
    (workdir / "odd dir;ü").mkdir()
    (workdir / "odd dir;ü" / "helper.py").write_text(textwrap.dedent(HELPER), encoding="utf-8")
    (workdir / "prog.py").write_text(textwrap.dedent(WORKLOAD), encoding="utf-8")
    completed = subprocess.run(pipegauge_command("run", "-o", "therun", "prog.py"), cwd=workdir,
                               env=child_env(), capture_output=True, text=True, timeout=120,
                               check=False)
    assert completed.returncode == 0, completed.stderr
    return workdir / "therun"


@pytest.fixture(scope="module")
def profile(run_dir) -> _core.Profile:
    return _core.Profile.read(str(run_dir / "profile.pgprof"))


class Tree:
    """The profile's call tree as the exports must show it: per node its
    path of function indexes and its times in whole (truncated) ns."""

    def __init__(self, profile: _core.Profile, correct: bool) -> None:
        self.functions = profile.functions(correct)
        nodes = profile.nodes(correct)
        self.parent = [int(node[0]) for node in nodes]
        self.func = [int(node[1]) for node in nodes]
        self.calls = [int(node[2]) for node in nodes]
        self.inclusive = [int(node[4]) for node in nodes]
        self.exclusive = [int(node[5]) for node in nodes]
        self.paths: list[tuple[int, ...]] = [()]
        for index in range(1, len(nodes)):
            self.paths.append(self.paths[self.parent[index]] + (self.func[index],))

    def label(self, func: int) -> str:
        name, file, line, kind = self.functions[func][:4]
        return name if kind == 1 else f"{name} ({file}:{line})"

    def nodes_with_time(self) -> list[int]:
        return [i for i in range(1, len(self.func)) if self.exclusive[i] > 0]


def assert_atomic(directory: Path) -> None:
    assert not [entry for entry in directory.iterdir() if ".tmp-" in entry.name]


# ---- folded ----------------------------------------------------------------

def parse_folded(text: str) -> Counter[tuple[str, ...]]:
    """Collapsed stacks the way flamegraph.pl and Pyroscope read them: the
    count after the last space, frames separated by ';'."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in text.split("\n"):
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        assert stack and count.isdigit(), line
        stacks[tuple(stack.split(";"))] += int(count)
    return stacks


LINE_BREAKING = {"\x7f", "\x85", "\u2028", "\u2029"}


def folded_frame(label: str) -> str:
    """What a frame must look like: no ';', no control characters, no
    Unicode line separators."""
    return "".join(":" if c == ";" else " " if ord(c) < 0x20 or c in LINE_BREAKING else c
                   for c in label)


@pytest.mark.parametrize("correct", [True, False])
def test_folded_matches_the_call_tree(profile, tmp_path, correct):
    # GIVEN a real profile WHEN exported as folded stacks
    out = tmp_path / "out.folded"
    _core.export(profile, "folded", str(out), correct=correct)
    text = out.read_text(encoding="utf-8")
    # THEN every line has exactly one frame list and one count
    stacks = parse_folded(text)
    tree = Tree(profile, correct)
    want: Counter[tuple[str, ...]] = Counter()
    for node in tree.nodes_with_time():
        want[tuple(folded_frame(tree.label(f)) for f in tree.paths[node])] += tree.exclusive[node]
    # AND the stacks and their values are the tree's, node by node
    assert stacks == want
    assert sum(stacks.values()) == sum(tree.exclusive)
    # AND the weird name survived as one frame, newline and ';' made harmless
    assert any(folded_frame(WEIRD) in frame for stack in stacks for frame in stack)
    assert any("odd dir:ü/helper.py" in frame for stack in stacks for frame in stack)
    # AND no reader's line splitting can break a line: one line per node
    assert len(text.splitlines()) == len(tree.nodes_with_time())
    assert_atomic(tmp_path)


# ---- speedscope --------------------------------------------------------------

# Written from speedscope's file-format spec (src/lib/file-format-spec.ts,
# published as https://www.speedscope.app/file-format-schema.json): the
# parts a sampled profile uses.
SPEEDSCOPE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["$schema", "shared", "profiles"],
    "properties": {
        "$schema": {"const": "https://www.speedscope.app/file-format-schema.json"},
        "name": {"type": "string"},
        "activeProfileIndex": {"type": "number"},
        "exporter": {"type": "string"},
        "shared": {
            "type": "object",
            "required": ["frames"],
            "properties": {"frames": {"type": "array", "items": {"$ref": "#/definitions/Frame"}}},
        },
        "profiles": {
            "type": "array",
            "items": {"anyOf": [{"$ref": "#/definitions/SampledProfile"},
                                {"$ref": "#/definitions/EventedProfile"}]},
        },
    },
    "definitions": {
        "Frame": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "file": {"type": "string"},
                "line": {"type": "number"},
                "col": {"type": "number"},
            },
        },
        "ValueUnit": {"enum": ["none", "nanoseconds", "microseconds", "milliseconds",
                               "seconds", "bytes"]},
        "SampledProfile": {
            "type": "object",
            "required": ["type", "name", "unit", "startValue", "endValue", "samples", "weights"],
            "properties": {
                "type": {"const": "sampled"},
                "name": {"type": "string"},
                "unit": {"$ref": "#/definitions/ValueUnit"},
                "startValue": {"type": "number"},
                "endValue": {"type": "number"},
                "samples": {"type": "array",
                            "items": {"type": "array", "items": {"type": "number"}}},
                "weights": {"type": "array", "items": {"type": "number"}},
            },
        },
        "EventedProfile": {
            "type": "object",
            "required": ["type", "name", "unit", "startValue", "endValue", "events"],
            "properties": {"type": {"const": "evented"}},
        },
    },
}


@pytest.mark.parametrize("correct", [True, False])
def test_speedscope_valid_against_schema_and_equal_to_tree(profile, tmp_path, correct):
    import jsonschema

    # GIVEN a real profile WHEN exported for speedscope
    out = tmp_path / "out.speedscope.json"
    _core.export(profile, "speedscope", str(out), correct=correct)
    raw = out.read_text(encoding="utf-8")
    document = json.loads(raw)
    # THEN it is valid against the schema of speedscope's file format
    jsonschema.Draft7Validator.check_schema(SPEEDSCOPE_SCHEMA)
    jsonschema.validate(document, SPEEDSCOPE_SCHEMA, cls=jsonschema.Draft7Validator)
    # AND the rules the schema cannot state hold: frame indexes in range,
    # one weight per sample, endValue - startValue = total weight
    frames = document["shared"]["frames"]
    (sampled,) = document["profiles"]
    assert sampled["unit"] == "nanoseconds"
    assert len(sampled["samples"]) == len(sampled["weights"])
    assert all(0 <= index < len(frames) for stack in sampled["samples"] for index in stack)
    assert sampled["endValue"] - sampled["startValue"] == sum(sampled["weights"])
    # AND frames are the functions, samples the tree's paths with their times
    tree = Tree(profile, correct)
    assert [frame["name"] for frame in frames] == [f[0] for f in tree.functions]
    for frame, function in zip(frames, tree.functions, strict=True):
        if function[3] == 0:
            assert (frame["file"], frame["line"]) == (function[1], function[2])
    got = Counter()
    for stack, weight in zip(sampled["samples"], sampled["weights"], strict=True):
        got[tuple(stack)] += weight
    want = Counter({tree.paths[n]: tree.exclusive[n] for n in tree.nodes_with_time()})
    assert got == want
    # AND the weird name round-trips, with U+2028/9 escaped in the raw text
    assert WEIRD in [frame["name"] for frame in frames]
    assert "\u2028" not in raw and "\u2029" not in raw and "\\u2028" in raw
    assert_atomic(tmp_path)


# ---- pprof -----------------------------------------------------------------

def pprof_classes():
    """Message classes for profile.proto, declared here from its published
    field numbers (github.com/google/pprof/proto/profile.proto)."""
    from google.protobuf import descriptor_pb2, descriptor_pool

    F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="pg_test_pprof.proto",
                                              package="pgtest.pprof", syntax="proto3")

    def message(name, *fields):
        m = file.message_type.add(name=name)
        for field_name, number, kind, repeated, type_name in fields:
            f = m.field.add(name=field_name, number=number, type=kind,
                            label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if type_name:
                f.type_name = f".pgtest.pprof.{type_name}"

    I64, U64, STR = F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_STRING
    MSG, BOOL = F.TYPE_MESSAGE, F.TYPE_BOOL
    message("Profile",
            ("sample_type", 1, MSG, True, "ValueType"), ("sample", 2, MSG, True, "Sample"),
            ("mapping", 3, MSG, True, "Mapping"), ("location", 4, MSG, True, "Location"),
            ("function", 5, MSG, True, "Function"), ("string_table", 6, STR, True, None),
            ("drop_frames", 7, I64, False, None), ("keep_frames", 8, I64, False, None),
            ("time_nanos", 9, I64, False, None), ("duration_nanos", 10, I64, False, None),
            ("period_type", 11, MSG, False, "ValueType"), ("period", 12, I64, False, None),
            ("comment", 13, I64, True, None), ("default_sample_type", 14, I64, False, None))
    message("ValueType", ("type", 1, I64, False, None), ("unit", 2, I64, False, None))
    message("Sample", ("location_id", 1, U64, True, None), ("value", 2, I64, True, None),
            ("label", 3, MSG, True, "Label"))
    message("Label", ("key", 1, I64, False, None), ("str", 2, I64, False, None),
            ("num", 3, I64, False, None), ("num_unit", 4, I64, False, None))
    message("Mapping", ("id", 1, U64, False, None), ("memory_start", 2, U64, False, None),
            ("memory_limit", 3, U64, False, None), ("file_offset", 4, U64, False, None),
            ("filename", 5, I64, False, None), ("build_id", 6, I64, False, None),
            ("has_functions", 7, BOOL, False, None))
    message("Location", ("id", 1, U64, False, None), ("mapping_id", 2, U64, False, None),
            ("address", 3, U64, False, None), ("line", 4, MSG, True, "Line"),
            ("is_folded", 5, BOOL, False, None))
    message("Line", ("function_id", 1, U64, False, None), ("line", 2, I64, False, None),
            ("column", 3, I64, False, None))
    message("Function", ("id", 1, U64, False, None), ("name", 2, I64, False, None),
            ("system_name", 3, I64, False, None), ("filename", 4, I64, False, None),
            ("start_line", 5, I64, False, None))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    descriptor = pool.FindMessageTypeByName("pgtest.pprof.Profile")
    try:
        from google.protobuf.message_factory import GetMessageClass
        return GetMessageClass(descriptor)
    except ImportError:  # protobuf < 4.22
        from google.protobuf import message_factory
        return message_factory.MessageFactory(pool).GetPrototype(descriptor)


@pytest.mark.parametrize("correct", [True, False])
def test_pprof_decodes_with_protobuf_and_equals_tree(profile, tmp_path, correct):
    # GIVEN a real profile WHEN exported as pprof
    out = tmp_path / "out.pb.gz"
    _core.export(profile, "pprof", str(out), correct=correct)
    data = out.read_bytes()
    assert data[:2] == b"\x1f\x8b"
    # THEN protobuf parses it with classes declared from profile.proto
    message = pprof_classes()()
    message.ParseFromString(gzip.decompress(data))
    strings = list(message.string_table)
    assert strings[0] == ""

    def text(index):
        return strings[index]

    assert [(text(t.type), text(t.unit)) for t in message.sample_type] == [
        ("wall", "nanoseconds"), ("calls", "count"), ("alloc_space", "bytes")]
    assert text(message.default_sample_type) == "wall"
    period = message.period_type
    assert (text(period.type), text(period.unit)) == ("wall", "nanoseconds")
    run = profile.run
    assert message.time_nanos == int(run["start_epoch_ns"])
    assert message.duration_nanos == int(run["duration_ns"])
    # AND ids resolve: every sample's locations and every line's function
    functions = {f.id: f for f in message.function}
    locations = {loc.id: loc for loc in message.location}
    assert 0 not in functions and 0 not in locations
    tree = Tree(profile, correct)

    def frame(location_id):
        (line,) = locations[location_id].line
        function = functions[line.function_id]
        return text(function.name), text(function.filename), function.start_line

    def want_frame(func):
        name, file, line, kind = tree.functions[func][:4]
        return name, "" if kind == 1 else file, line

    # AND the samples are the tree's paths, leaf first, with its values
    got = Counter()
    for sample in message.sample:
        assert len(sample.value) == 3
        stack = tuple(frame(location_id) for location_id in sample.location_id)
        got[stack] += sample.value[0]
        got[("calls",) + stack] += sample.value[1]
        assert sample.value[2] == 0
    want = Counter()
    for node in range(1, len(tree.func)):
        stack = tuple(want_frame(f) for f in reversed(tree.paths[node]))
        want[stack] += tree.exclusive[node]
        want[("calls",) + stack] += tree.calls[node]
    assert +got == +want
    assert sum(s.value[0] for s in message.sample) == sum(tree.exclusive)
    assert sum(s.value[1] for s in message.sample) == sum(tree.calls)
    assert any(name == WEIRD for name, _file, _line in (frame(i) for i in locations))
    assert_atomic(tmp_path)


# ---- chrome ----------------------------------------------------------------

def ns(value: Decimal) -> int:
    """A trace timestamp (microseconds, 3 decimals) as integer ns."""
    scaled = value * 1000
    assert scaled == int(scaled), value
    return int(scaled)


@pytest.mark.parametrize("correct", [True, False])
def test_chrome_trace_nests_and_carries_inclusive_times(profile, tmp_path, correct):
    # GIVEN a real profile WHEN exported as a Chrome trace
    out = tmp_path / "out.trace.json"
    _core.export(profile, "chrome", str(out), correct=correct)
    document = json.loads(out.read_text(encoding="utf-8"), parse_float=Decimal)
    events = document["traceEvents"]
    # THEN it names its process and thread
    metadata = {e["name"]: e for e in events if e["ph"] == "M"}
    assert metadata["process_name"]["args"]["name"].startswith("pipegauge: ")
    assert "aggregated" in metadata["thread_name"]["args"]["name"]
    assert document["otherData"]["overhead_corrected"] is correct
    # AND every complete event has its required fields, one per node
    complete = [e for e in events if e["ph"] == "X"]
    tree = Tree(profile, correct)
    assert len(complete) == len(tree.func) - 1
    by_node = {}
    for event in complete:
        assert {"name", "ph", "ts", "dur", "pid", "tid"} <= set(event)
        assert event["dur"] >= 0 and event["ts"] >= 0
        by_node[event["args"]["node"]] = event
    # AND names and inclusive times are the profile's
    clipped = 0
    for node, event in by_node.items():
        assert event["name"] == tree.functions[tree.func[node]][0]
        assert event["args"]["total_ns"] == tree.inclusive[node]
        assert event["args"]["self_ns"] == tree.exclusive[node]
        assert event["args"]["calls"] == tree.calls[node]
        duration = ns(event["dur"])
        assert duration <= tree.inclusive[node]
        clipped += duration != tree.inclusive[node]
    # AND children sit side by side inside their parent's span
    next_start: dict[int, int] = {}
    for node in sorted(by_node):
        event = by_node[node]
        start, end = ns(event["ts"]), ns(event["ts"]) + ns(event["dur"])
        parent = tree.parent[node]
        if parent != 0:
            outer = by_node[parent]
            assert ns(outer["ts"]) <= start and end <= ns(outer["ts"]) + ns(outer["dur"])
        assert start == next_start.get(parent, ns(by_node[parent]["ts"]) if parent else 0)
        next_start[parent] = end
        # a span shorter than the node's time only where the parent ran out
        if ns(event["dur"]) != tree.inclusive[node]:
            assert parent != 0
            assert end == ns(by_node[parent]["ts"]) + ns(by_node[parent]["dur"])
    if not correct:
        assert clipped == 0  # raw times: a parent always holds its children
    assert_atomic(tmp_path)


# ---- the API and the CLI -----------------------------------------------------

def test_export_errors(profile, tmp_path):
    # unknown format: ValueError naming it; nothing written
    with pytest.raises(ValueError, match="svg"):
        _core.export(profile, "svg", str(tmp_path / "x"))
    # not a profile: TypeError
    with pytest.raises(TypeError):
        _core.export(object(), "folded", str(tmp_path / "x"))
    # an unwritable place: OSError naming the file
    with pytest.raises(OSError) as caught:
        _core.export(profile, "chrome", str(tmp_path / "missing" / "x.json"))
    assert "missing" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_export_replaces_atomically(profile, tmp_path):
    target = tmp_path / "out"
    target.write_text("old")
    for fmt in ("folded", "speedscope", "pprof", "chrome"):
        _core.export(profile, fmt, target)  # path-like accepted
        assert target.read_bytes() != b"old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("fmt,check", [
    ("folded", lambda data: parse_folded(data.decode())),
    ("speedscope", lambda data: json.loads(data)["profiles"]),
    ("pprof", lambda data: pprof_classes()().ParseFromString(gzip.decompress(data))),
    ("chrome", lambda data: json.loads(data)["traceEvents"]),
])
def test_cli_export_formats(pipegauge, run_dir, tmp_path, fmt, check):
    # WHEN `pipegauge export RUN --format F -o FILE`
    out = tmp_path / f"out.{fmt}"
    result = pipegauge("export", str(run_dir), "--format", fmt, "-o", str(out))
    # THEN it succeeds, says so on stderr, and the file is readable
    assert result.returncode == 0, result.stderr
    assert f"wrote {fmt}" in result.stderr
    check(out.read_bytes())
    # AND --no-correct gives raw times (never smaller than corrected ones)
    raw = tmp_path / f"raw.{fmt}"
    assert pipegauge("export", str(run_dir), "--format", fmt, "--no-correct", "-o",
                     str(raw)).returncode == 0
    if fmt == "folded":
        assert sum(parse_folded(raw.read_text()).values()) >= sum(
            parse_folded(out.read_text()).values())


def test_cli_export_native_format_needs_a_file(pipegauge, run_dir):
    result = pipegauge("export", str(run_dir), "--format", "speedscope", "-o", "-")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "-o" in result.stderr
