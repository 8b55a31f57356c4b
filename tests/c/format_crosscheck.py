"""Cross-check the C reader/writer against the pure-Python reader.

GIVEN the sample profiles written by the C writer, and thousands of
deterministic mutations of them (bit flips, byte changes and nudges,
truncations, insertions, deletions; most with their section CRCs
recomputed so that the payload parsers decide),
WHEN both src/engine/pg_format.c (through pg_format_tool) and
src/pipegauge/_format.py read each file,
THEN they agree: the same error kind, or the same profile field by field.

usage: format_crosscheck.py PG_FORMAT_TOOL FORMAT_PY WORK_DIR [MUTANTS]
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from types import ModuleType


def load_format(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("pipegauge_format", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def hex_text(text: str) -> str:
    raw = text.encode("utf-8", "surrogateescape")
    return raw.hex() if raw else "-"


def f64_bits(value: float) -> str:
    bits: int = struct.unpack("<Q", struct.pack("<d", value))[0]
    return f"{bits:016x}"


def dump(fmt: ModuleType, path: Path) -> list[str]:
    """The text pg_format_tool prints for path."""
    lines = [f"file {path}"]
    try:
        p = fmt.read_profile(path)
    except fmt.ProfileFormatError as error:
        return lines + [f"error {error.kind}"]
    r = p["run"]
    counters = (
        r["events"],
        r["start_epoch_ns"],
        r["duration_ns"],
        r["profiler_memory"],
        r["threads"],
        r["lost_events"],
        r["unmatched_events"],
    )
    lines.append(
        f"run {f64_bits(r['ns_per_unit'])} {f64_bits(r['event_cost_ns'])} "
        + " ".join(str(c) for c in counters)
    )
    for key, value in p["meta"].items():
        lines.append(f"meta {hex_text(key)} {hex_text(value)}")
    for t in p.get("thread_io", []):
        counters = " ".join(str(t[c]) for c in fmt.THREAD_IO_COUNTERS)
        lines.append(f"thread_io {t['tid']} {hex_text(t['name'])} {t['flags']} {counters}")
    index = {s: i for i, s in enumerate(p["strings"])}
    lines += [f"string {hex_text(s)}" for s in p["strings"]]
    for f in p["functions"]:
        h = f["hist"]
        buckets = "".join(f" {b}:{n}" for b, n in sorted(h["buckets"].items()))
        lines.append(
            f"func {index[f['name']]} {index[f['file']]} {f['line']} {f['kind']} "
            f"{h['count']} {h['sum']} {h['min']} {h['max']}{buckets}"
        )
    for n in p["nodes"]:
        parent = -1 if n["parent"] is None else n["parent"]
        func = -1 if n["func"] is None else n["func"]
        lines.append(
            f"node {parent} {func} {n['calls']} {n['exc_exits']} {n['events']} "
            f"{n['inclusive']} {n['exclusive']}"
        )
    for q in p["processes"]:
        lines.append(
            f"process {q['pid']} {q['parent_pid']} {hex_text(q['role'])} {q['state']} "
            f"{q['start_epoch_ns']} {q['duration_ns']} {q['events']} {q['calls']} {q['busy_ns']}"
        )
    table = p["stages"]
    for stage in table["stages"]:
        h = stage["latency"]
        fields = [stage[name] for name in fmt.STAGE_FIELDS]
        fields += [h["count"], h["sum"], h["min"], h["max"]]
        buckets = "".join(f" {b}:{n}" for b, n in sorted(h["buckets"].items()))
        lines.append(f"stage {hex_text(stage['name'])} " + " ".join(map(str, fields)) + buckets)
    if table["stages"]:
        lines.append(f"stagelog {table['coalesced']} {table['spans_dropped']} {table['lost']}")
    for span in table["spans"]:
        lines.append(
            f"span {span['stage']} {span['thread']} {span['start']} {span['end']} "
            f"{span['busy']} {span['invocations']}"
        )
    for m in p["metrics"]:
        values = "".join(f" {n}:{v}" for n, v in sorted(m["values"].items()))
        lines.append(f"metric {index[m['name']]} {index[m['unit']]} {m['merge']}{values}")
    for row in p["lines"]:
        lines.append(
            f"line {row['func']} {row['line']} {row['self']} {row['total']} {row['hits']}"
        )
    timeline = p.get("timeline")
    if timeline is not None:
        samples = timeline["samples"]
        lines.append(f"timeline {timeline['interval_ns']} {timeline['stride']} {len(samples)}")
        lines += [f"gpu {hex_text(g['name'])} {g['memory_total']}" for g in timeline["gpus"]]
        for s in samples:
            figures = " ".join(str(s[name]) for name in ("t_ns", *fmt.SAMPLE_FIELDS))
            gpu = "".join(f" {b}:{m}:{q}" for b, m, q in s["gpu"])
            lines.append(f"sample {figures}{gpu}")
    return lines


def fix_crcs(data: bytearray) -> None:
    at = 16
    while len(data) - at >= 16:
        (length,) = struct.unpack_from("<Q", data, at + 8)
        payload = at + 16
        if length > len(data) - payload:
            return
        struct.pack_into("<I", data, at + 4, zlib.crc32(data[payload : payload + length]))
        at = payload + length


INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x41]


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not out:
            break
        op = rng.randrange(7)
        at = rng.randrange(len(out))
        if op == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[at] = rng.randrange(256)
        elif op == 2:
            out[at] = rng.choice(INTERESTING)
        elif op == 3:
            del out[rng.randrange(len(out)) :]
        elif op == 4:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op == 5:
            del out[at : at + rng.randint(1, 8)]
        else:  # nudge a count, an index or a kind by a little
            out[at] = (out[at] + rng.choice([1, -1, 2, -2])) & 0xFF
    if rng.random() < 0.75:
        fix_crcs(out)
    return bytes(out)


def c_dump(tool: str, paths: list[Path]) -> list[str]:
    lines: list[str] = []
    for start in range(0, len(paths), 500):  # stay under the argv limit
        chunk = [str(p) for p in paths[start : start + 500]]
        result = subprocess.run([tool, "dump", *chunk], check=False, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"pg_format_tool failed ({result.returncode}): {result.stderr}")
        lines += result.stdout.splitlines()
    return lines


def main() -> int:
    tool, format_py, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    mutants = int(sys.argv[4]) if len(sys.argv) > 4 else 800
    fmt = load_format(format_py)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    subprocess.run([tool, "samples", str(work)], check=True)
    samples = sorted(work.glob("sample-*.pgprof"))
    assert len(samples) >= 4, samples
    for sample in samples:  # the writer's output reads back in Python
        fmt.read_profile(sample)
    rng = random.Random(20240521)
    paths = list(samples)
    for i in range(mutants):
        sample = samples[i % len(samples)]
        path = work / f"mutant-{i:05d}.bin"
        path.write_bytes(mutate(rng, sample.read_bytes()))
        paths.append(path)
    c_lines = c_dump(tool, paths)
    py_lines = [line for path in paths for line in dump(fmt, path)]
    kinds: dict[str, int] = {}
    for line in py_lines:
        if line.startswith("error "):
            kinds[line[6:]] = kinds.get(line[6:], 0) + 1
    if c_lines != py_lines:
        for c_line, py_line in zip(c_lines, py_lines):
            if c_line != py_line:
                print(f"C:      {c_line}\nPython: {py_line}")
                break
        print(f"C and Python readers disagree ({len(c_lines)} vs {len(py_lines)} lines)")
        return 1
    accepted = len(paths) - sum(kinds.values())
    print(f"{len(paths)} files agree: {accepted} accepted, errors {sorted(kinds.items())}")
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
