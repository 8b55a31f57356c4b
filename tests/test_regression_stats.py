"""Acceptance of the regression statistics on real profiled runs.

Each trial profiles the 10-stage pipeline of workloads_regression.py for
real (the C tracer, in this process, one profile per run: no process start
per run keeps 20 trials x 3 sides x 5 repeats within seconds), turns each
profile into its history record exactly as ``pipegauge run`` does, and
compares the sides with the same code ``pipegauge diff``/``check`` use. The
three sides of a trial are interleaved run by run (base, slowed, base
again, ...), as a careful benchmark would, so that load drifting on this
shared machine hits every side alike; the noise that remains is real.
"""

from __future__ import annotations

import pipegauge
import workloads_regression as workload
from pipegauge._diff import IMPROVED, REGRESSED, Side, compare
from pipegauge._history import RunRecord
from pipegauge._history_record import run_record

TRIALS = 20
REPEATS = 5
SLOW_STAGE = 3
SLOWDOWN = 1.10


def profiled_run(**kwargs: object) -> RunRecord:
    with pipegauge.profile(history=False) as run:
        workload.pipeline(**kwargs)  # type: ignore[arg-type]
    return run_record(run, None)


def flagged(result) -> dict[str, str]:
    return {item.name: item.verdict for item in result.functions if item.verdict in (REGRESSED, IMPROVED)}


def test_ten_percent_slowdown_is_found_and_a_a_is_clean():
    # GIVEN 20 trials of 5 interleaved repeats: base, one stage 10% slower, base again
    detected = 0
    other_flags = 0
    clean_a_a = 0
    notes = []
    for trial in range(TRIALS):
        base, slowed, again = [], [], []
        for _ in range(REPEATS):
            base.append(profiled_run())
            slowed.append(profiled_run(slow=SLOW_STAGE, factor=SLOWDOWN))
            again.append(profiled_run())
        # WHEN the slowed side and the second base side are compared with the first
        slow_result = compare(Side("base", base), Side("slowed", slowed))
        a_a_result = compare(Side("base", base), Side("again", again))
        slow_flags = flagged(slow_result)
        a_a_flags = flagged(a_a_result)
        detected += slow_flags.get(f"stage_{SLOW_STAGE}") == REGRESSED
        other_flags += sum(1 for name in slow_flags
                           if name.startswith("stage_") and name != f"stage_{SLOW_STAGE}")
        clean_a_a += not a_a_flags
        notes.append((trial, slow_flags, a_a_flags))
    # THEN the slow stage is flagged in >= 95% of trials, the nine others in <= 5%
    # of their comparisons, and >= 95% of A/A comparisons flag nothing at all
    assert detected >= 19, notes
    assert other_flags / (TRIALS * 9) <= 0.05, notes
    assert clean_a_a >= 19, notes


def test_doubled_calls_flagged_with_unchanged_time():
    # GIVEN repeats where stage 5 is called twice as often with half the work per call
    base = [profiled_run() for _ in range(3)]
    doubled = [profiled_run(double=5) for _ in range(3)]
    # WHEN compared
    result = compare(Side("base", base), Side("doubled", doubled))
    stage = next(item for item in result.functions if item.name == "stage_5")
    # THEN its calls are flagged as an exact change, and its time is not
    assert stage.verdict == REGRESSED, stage
    assert stage.flags == {"calls": REGRESSED}, stage
    assert stage.calls_exact
    assert stage.values["calls"] == (float(workload.CALLS), 2.0 * workload.CALLS)
    assert any("exact" in reason for reason in stage.reasons)


def test_extra_metrics_are_compared_generically():
    # GIVEN runs whose functions carry an extra metric (as memory collectors add),
    # one function's doubled in every current run, another's unchanged
    from pipegauge import _core
    from pipegauge._diff import regressions
    from pipegauge._history import FunctionRecord
    from pipegauge.renderers.diff import render_diff

    empty = _core.merge_samples([])

    def run(memory_a: float, memory_b: float) -> RunRecord:
        functions = [FunctionRecord(f"{name}|etl.py|python", name, "etl.py", "python", 10, 5e6, 5e6,
                                    5e5, 5e5, 5e5, empty, {"memory_bytes": memory})
                     for name, memory in (("load", memory_a), ("parse", memory_b))]
        return RunRecord(program="etl.py", name="etl", started=0.0, duration_ns=1e7, functions=functions)

    base = [run(1000.0, 5000.0 + k) for k in range(3)]
    current = [run(2000.0 + k, 5000.0 - k) for k in range(3)]
    # WHEN compared
    result = compare(Side("base", base), Side("current", current))
    verdicts = {item.name: item for item in result.functions}
    # THEN the doubled metric is flagged and gated by --metric memory, the other is not
    assert verdicts["load"].flags == {"memory_bytes": REGRESSED}
    assert verdicts["parse"].verdict == "unchanged"
    assert [item.name for item in regressions(result, metric="memory", threshold=0.5)] == ["load"]
    assert regressions(result, metric="memory", threshold=1.5) == []
    assert regressions(result, metric="time", threshold=0.0) == []
    # AND the diff table grows a column for it, still within 80 columns
    table = render_diff(result, show_all=True)
    assert "Δmemor" in table and "+100%" in table
    assert all(len(line) <= 80 for line in table.splitlines())


def test_changed_call_count_flags_time_only_when_own_time_moved():
    # GIVEN one real run, and a copy in which stage 5 is called twice as often,
    # each call costing the same (twice the own time) or half (the same own time)
    from dataclasses import replace

    base_run = profiled_run()

    def doubled(cost: float) -> RunRecord:
        functions = [replace(record, calls=2 * record.calls, p50_ns=record.p50_ns * cost,
                             self_ns=record.self_ns * 2 * cost, total_ns=record.total_ns * 2 * cost)
                     if record.name == "stage_5" else record for record in base_run.functions]
        return replace(base_run, functions=functions)

    def stage_5(cost: float):
        result = compare(Side("base", [base_run]), Side("current", [doubled(cost)]))
        return next(item for item in result.functions if item.name == "stage_5")

    # WHEN each call costs the same
    same_cost = stage_5(1.0)
    # THEN both the calls and the time are flagged (the call histogram did not
    # change, the function's own time doubled)
    assert same_cost.flags == {"calls": REGRESSED, "time": REGRESSED}, same_cost.reasons
    assert abs(same_cost.time_change - 1.0) < 0.01
    # WHEN each call costs half: only the calls are
    half_cost = stage_5(0.5)
    assert half_cost.flags == {"calls": REGRESSED}, half_cost.reasons


def test_a_base_run_slow_as_a_whole_does_not_hide_a_slower_function(monkeypatch):
    # GIVEN a base run in which every call is 1.8x slower (as when a busy
    # sibling hyperthread slows the whole run), and a current run at normal
    # speed with stage 3 really 60% slower: raw, stage 3's calls are faster
    # in the current run (480 iterations against 540)
    monkeypatch.setattr(workload, "ITERATIONS", round(workload.ITERATIONS * 1.8))
    base = profiled_run()
    monkeypatch.undo()
    current = profiled_run(slow=SLOW_STAGE, factor=1.6)
    # WHEN compared, one run per side
    result = compare(Side("base", [base]), Side("current", [current]))
    # THEN the run speeds are divided out of the rank test as out of the
    # typical calls: stage 3 is the one regression, the rest unchanged
    stages = {item.name: item.verdict for item in result.functions if item.name.startswith("stage_")}
    assert stages.pop(f"stage_{SLOW_STAGE}") == REGRESSED, result.functions
    assert set(stages.values()) == {"unchanged"}, stages
