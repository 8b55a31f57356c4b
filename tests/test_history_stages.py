"""Pipeline stages in the history, diff and check: real profiled runs of a
generator pipeline, one stage slowed or given more records."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from pipegauge._history import MIGRATIONS, SCHEMA_VERSION, History

WORK_STAGES = ("parse", "clean", "enrich", "score", "pack")
WORK_STAGE = """
    @stage("{name}")
    def {name}(items):
        work = ITERATIONS["{name}"]
        for item in items:
            acc = item
            for step in range(work):
                acc = (acc * 31 + step) & 0xFFFF
            yield acc
"""
# Five work stages, each its own generator function: with at least five
# judged functions the diff divides out a run-wide slowdown (a loaded
# machine), so only the stage that really slowed stands out.
PIPELINE = """
    import sys
    from pipegauge import stage

    ITERATIONS = dict.fromkeys(%r, 400)
    RECORDS = 400
    for arg in sys.argv[1:]:
        name, _, value = arg.partition("=")
        if name == "records":
            RECORDS = int(value)
        else:
            ITERATIONS[name] = int(ITERATIONS[name] * float(value))

    @stage("source")
    def source(n):
        for i in range(n):
            yield i
""" % (WORK_STAGES,) + "".join(WORK_STAGE.format(name=name) for name in WORK_STAGES) + """
    @stage("sink")
    def sink(items):
        return sum(1 for _ in items)

    sink(pack(score(enrich(clean(parse(source(RECORDS)))))))
"""
ALL_STAGES = ["source", *WORK_STAGES, "sink"]


# Per-record own times of ~20 us records vary by several percent between
# groups of runs on a shared machine; a 10% floor keeps the A/A comparisons
# clean while the slowed stage (+60%) is far above it.
EFFECT = ("--min-effect", "10%")


def stage_rows(diff_json: str) -> dict[str, dict]:
    return {item["name"]: item for item in json.loads(diff_json)["functions"]
            if item["kind"] == "stage"}


def test_stages_are_recorded_with_their_summaries(pipegauge, write_script, workdir):
    # GIVEN one recorded run of the pipeline
    write_script(PIPELINE)
    assert pipegauge("run", "prog.py").returncode == 0
    # THEN the history holds each stage's records, own time, throughput,
    # latency histogram and memory
    with History(workdir / ".pipegauge" / "history.sqlite") as history:
        run = history.runs(with_functions=True)[0]
    stages = {s.name: s for s in run.stages}
    assert list(stages) == ALL_STAGES
    enrich = stages["enrich"]
    assert (enrich.records_in, enrich.records_out, enrich.invocations) == (400, 400, 1)
    assert enrich.own_ns > 0 and enrich.p50_ns > 0 and enrich.sample
    assert abs(enrich.throughput - 400 / (enrich.own_ns * 1e-9)) < 1e-6 * enrich.throughput
    assert enrich.extra["memory_allocated"] > 0
    assert stages["sink"].records_in == 400 and stages["sink"].records_out == 0


def test_slowed_stage_is_flagged_and_unchanged_stages_are_not(pipegauge, write_script):
    # GIVEN a baseline group of 3 runs, then a group with enrich 1.6x slower
    write_script(PIPELINE)
    assert pipegauge("run", "--repeat", "3", "prog.py").returncode == 0
    assert pipegauge("baseline", "set", "latest").returncode == 0
    slow = pipegauge("run", "--repeat", "3", "prog.py", "enrich=1.6")
    assert slow.returncode == 0, slow.stderr
    # WHEN diffed
    diff = pipegauge("diff", "baseline", "latest", "--json", *EFFECT)
    assert diff.returncode == 0, diff.stderr
    rows = stage_rows(diff.stdout)
    # THEN enrich regressed in time, with the rank test behind it, and parse did not
    assert set(rows) == set(ALL_STAGES)
    assert rows["enrich"]["verdict"] == "regressed", rows["enrich"]
    assert rows["enrich"]["flags"].get("time") == "regressed"
    assert rows["enrich"]["q_value"] is not None and rows["enrich"]["q_value"] < 0.05
    for name in ("parse", "clean", "score", "pack"):
        assert rows[name]["verdict"] == "unchanged", rows[name]
    assert rows["enrich"]["calls_exact"] and rows["enrich"]["values"]["calls"]["base"] == 400
    # AND the table marks the rows as stages
    table = pipegauge("diff", "baseline", "latest", *EFFECT)
    assert any(line.startswith("regressed") and "[stage] enrich" in line
               for line in table.stdout.splitlines()), table.stdout
    # AND check fails on it; --only matches stage names
    check = pipegauge("check", *EFFECT)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "REGRESSED [stage] enrich" in check.stdout
    assert "REGRESSED [stage] parse" not in check.stdout
    assert pipegauge("check", "--only", "enrich", *EFFECT).returncode == 1
    only_parse = pipegauge("check", "--only", "pars?", *EFFECT)
    assert only_parse.returncode == 0, only_parse.stdout
    assert "in 1 functions" in only_parse.stdout


def test_record_counts_are_exact_and_unchanged_runs_pass(pipegauge, write_script):
    # GIVEN two groups of 3 runs of the same code, then a run with twice the records
    write_script(PIPELINE)
    assert pipegauge("run", "--repeat", "3", "prog.py").returncode == 0
    assert pipegauge("baseline", "set", "latest").returncode == 0
    assert pipegauge("run", "--repeat", "3", "prog.py").returncode == 0
    # THEN the unchanged groups flag no stage, and check passes (A/A)
    same = stage_rows(pipegauge("diff", "baseline", "latest", "--json", *EFFECT).stdout)
    assert set(same) == set(ALL_STAGES)
    assert all(row["verdict"] == "unchanged" for row in same.values()), \
        {name: row["reasons"] for name, row in same.items()}
    clean = pipegauge("check", *EFFECT)
    assert clean.returncode == 0, clean.stdout
    # AND doubled records are flagged exactly on every stage, gated by --metric calls
    assert pipegauge("run", "prog.py", "records=800").returncode == 0
    more = stage_rows(pipegauge("diff", "baseline", "latest", "--json", *EFFECT).stdout)
    for name in ALL_STAGES:
        assert more[name]["flags"].get("calls") == "regressed", more[name]
        assert more[name]["calls_exact"] is True
        assert any(reason.startswith("records 400 -> 800") for reason in more[name]["reasons"])
    gate = pipegauge("check", "--metric", "calls", "--only", "[[]stage[]] *")
    assert gate.returncode == 1 and "REGRESSED [stage] parse" in gate.stdout, gate.stdout


def test_schema_1_history_is_migrated_and_keeps_its_runs(pipegauge, write_script, workdir):
    # GIVEN a history at schema 1 (before stages) holding one run
    write_script(PIPELINE)
    history = workdir / ".pipegauge" / "history.sqlite"
    history.parent.mkdir()
    with sqlite3.connect(history) as db:
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("INSERT INTO runs (program, name, started, duration_ns, recorded)"
                   " VALUES ('old', 'old', 1.0, 5.0, 1.0)")
        db.execute("PRAGMA user_version = 1")
    # WHEN a run is recorded
    assert pipegauge("run", "prog.py").returncode == 0
    # THEN the file is at the new version, the old run kept (without stages)
    with sqlite3.connect(history) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    with History(history) as opened:
        runs = {run.id: run for run in opened.runs(with_functions=True)}
    assert runs[1].program == "old" and runs[1].stages == []
    assert [s.name for s in runs[2].stages] == ALL_STAGES


def test_history_file_paths_are_not_in_the_stage_rows(workdir: Path) -> None:
    # stage rows carry no file: their key is the name alone
    from pipegauge._history import StageRecord

    row = StageRecord("x", 1, 2, 3, 4.0, 5.0, 1.0, 2.0, 3.0, b"").as_function()
    assert (row.key, row.file, row.kind, row.calls) == ("x||stage", "", "stage", 3)
