"""Sampling mode (``--mode sample``): the C stack sampler on real processes
and threads, checked against the deterministic tracer and against the
program's own view of its hooks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import pipegauge as pg
from conftest import assert_one_error_line

format_reader = pytest.importorskip("pipegauge._format")

# A CPU-bound pipeline: stages of known, different weights, each calling a
# few helpers, with no tiny calls (the deterministic run's per-call overhead,
# though corrected, is then small) and no builtin-heavy code.
PIPELINE = """
    import time

    def parse(n):
        total = 0
        for i in range(n):
            total += (i * 7) % 13
        return total

    def transform(n):
        value = 0
        for i in range(n):
            value = (value + i * i) % 1000003
        return value

    def enrich(n):
        return transform(n // 2) + parse(n // 2)

    def aggregate(n):
        acc = 0.0
        for i in range(n):
            acc += i / (i + 1.0)
        return acc

    def main(seconds):
        # sizes vary from round to round (seeded): a strictly periodic loop
        # can alias with cpu mode's tick-bound sampling instants
        import random
        rng = random.Random(7)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            k = rng.uniform(0.5, 1.5)
            parse(int(20000 * k))
            transform(int(40000 * rng.uniform(0.5, 1.5)))
            enrich(int(20000 * rng.uniform(0.5, 1.5)))
            aggregate(int(10000 * rng.uniform(0.5, 1.5)))

    main(SECONDS)
"""


def _run_dir(result, out: str | None = None) -> Path:
    """The run directory: out (given with -o) or the only one under .pipegauge/runs."""
    assert result.returncode == 0, result.stderr
    return result.cwd / out if out else result.only_run_dir()


def _self_shares(*run_dirs: Path) -> dict[str, float]:
    """Python functions' share of all own time over the runs (builtins
    folded in by the callers, as sampling sees them)."""
    stats = [item for run_dir in run_dirs for item in pg.Run.load(run_dir / "profile.pgprof").stats()
             if item.kind == "python"]
    total = sum(item.self_time for item in stats) or 1.0
    shares: dict[str, float] = {}
    for item in stats:
        shares[item.name] = shares.get(item.name, 0.0) + item.self_time / total
    return shares


def _samples(run_dir: Path) -> dict[str, int]:
    run = pg.Run.load(run_dir / "profile.pgprof")
    counts: dict[str, int] = {}
    for item in run.stats():
        counts[item.name] = counts.get(item.name, 0) + (item.metric("samples", inclusive=False) or 0)
    return counts


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_sampled_shares_agree_with_deterministic_shares(pipegauge, write_script, workdir, clock):
    # GIVEN a CPU-bound pipeline, run long enough for a few thousand samples
    # (cpu mode gets one sample per kernel tick, often 4 ms: a longer run)
    write_script(PIPELINE.replace("SECONDS", "1.2" if clock == "wall" else "2.5"))
    # WHEN it runs deterministically (builtins folded, as a sampler sees them)
    # and sampled at 1 kHz, alternately, twice each (a busy machine's drift
    # then hits both modes alike)
    exact, sampled = [], []
    for round_ in range(2):
        out = f"exact{round_}"
        exact.append(_run_dir(pipegauge("run", "--no-history", "--no-builtins", "--no-memory", "--no-io",
                                        "--no-cpu", "-o", out, "prog.py"), out))
        out = f"sampled{round_}"
        sampled.append(_run_dir(pipegauge("run", "--no-history", "--mode", "sample", "--rate", "1000",
                                          "--clock", clock, "-o", out, "prog.py"), out))
    exact_shares, sampled_shares = _self_shares(*exact), _self_shares(*sampled)
    # THEN every function above 5% has the same share within 5 points
    big = {name for name, share in exact_shares.items() if share > 0.05}
    assert {"parse", "transform", "aggregate"} <= big, exact_shares
    for name in big:
        assert abs(sampled_shares.get(name, 0.0) - exact_shares[name]) <= 0.05, \
            (name, exact_shares, sampled_shares)
    # AND the sampled run says what it is, with enough samples to mean it
    meta = pg.Run.load(sampled[0] / "profile.pgprof").meta
    assert meta["mode"] == "sample" and meta["sample_clock"] == clock
    # (cpu mode: at most one signal per scheduler tick of CPU the run got)
    assert int(meta["samples_taken"]) >= (150 if clock == "wall" else 50)
    assert pg.Run.load(exact[0] / "profile.pgprof").meta["mode"] == "deterministic"


THREADS = """
    import threading, time

    def spin(seconds):
        end = time.perf_counter() + seconds
        x = 0
        while time.perf_counter() < end:
            x += 1
        return x

    def worker_alpha():
        spin(1.5)

    def worker_beta():
        spin(1.5)

    def worker_gamma():
        spin(1.5)

    threads = [threading.Thread(target=f) for f in (worker_alpha, worker_beta, worker_gamma)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
"""


def test_every_thread_is_sampled(pipegauge, write_script):
    # GIVEN three threads, each running its own function
    write_script(THREADS)
    # WHEN sampled on wall time
    run_dir = _run_dir(pipegauge("run", "--no-history", "--mode", "sample", "--rate", "500", "prog.py"))
    samples = _samples(run_dir)
    total = sum(samples.values())
    # THEN each thread's function holds a fair part of the samples (the
    # three share the GIL; a thread waiting for it is still in its function)
    for name in ("worker_alpha", "worker_beta", "worker_gamma"):
        assert samples.get("spin", 0) > 0
        run = pg.Run.load(run_dir / "profile.pgprof")
        inclusive = {item.name: item.metric("samples") or 0 for item in run.stats()}
        assert inclusive.get(name, 0) >= 0.15 * total, (name, inclusive, total)


SLEEPER = """
    import time

    def burn(seconds):
        end = time.perf_counter() + seconds
        x = 0
        while time.perf_counter() < end:
            x += 1

    def nap(seconds):
        time.sleep(seconds)

    def main():
        end = time.perf_counter() + 2.0
        while time.perf_counter() < end:
            burn(0.005)
            nap(0.005)

    main()
"""


def test_wall_clock_sees_sleep_and_cpu_clock_does_not(pipegauge, write_script):
    # GIVEN a program that sleeps half of the time
    write_script(SLEEPER)
    # WHEN sampled on wall time and on CPU time
    wall = _samples(_run_dir(pipegauge("run", "--no-history", "--mode", "sample", "--clock", "wall",
                                       "-o", "wall", "prog.py"), "wall"))
    cpu = _samples(_run_dir(pipegauge("run", "--no-history", "--mode", "sample", "--clock", "cpu",
                                      "-o", "cpu", "prog.py"), "cpu"))
    # THEN on wall time the nap holds about half of the samples
    wall_share = wall.get("nap", 0) / max(1, wall.get("nap", 0) + wall.get("burn", 0))
    assert 0.3 <= wall_share <= 0.7, wall
    # AND on CPU time nearly none
    cpu_share = cpu.get("nap", 0) / max(1, cpu.get("nap", 0) + cpu.get("burn", 0))
    assert cpu_share <= 0.08, cpu
    assert cpu.get("burn", 0) > 0


HOOKS = """
    import sys, threading, time

    def check(where):
        assert sys.getprofile() is None, (where, sys.getprofile())
        assert sys.gettrace() is None, (where, sys.gettrace())
        if hasattr(threading, "getprofile"):
            assert threading.getprofile() is None, where
            assert threading.gettrace() is None, where
        if sys.version_info >= (3, 12):
            for tool in range(6):
                name = sys.monitoring.get_tool(tool)
                assert name is None or "pipegauge" not in name, (where, tool, name)
                assert sys.monitoring.get_events(tool) == 0, (where, tool)

    def busy():
        x = 0
        for i in range(200000):
            x += i
        check("thread")

    check("main")
    t = threading.Thread(target=busy)
    t.start()
    t.join()
    busy()
    print("NO HOOKS")
"""


def test_no_hook_is_installed_during_a_sampled_run(pipegauge, write_script):
    # GIVEN a program that inspects every hook, in the main thread and another
    write_script(HOOKS)
    # WHEN it runs in sampling mode
    result = pipegauge("run", "--no-history", "--mode", "sample", "prog.py")
    # THEN it finds none installed
    assert result.returncode == 0, result.stderr
    assert "NO HOOKS" in result.stdout
    # AND the deterministic mode (the control) does install one
    control = pipegauge("run", "--no-history", "-o", "control", "prog.py")
    assert control.returncode != 0 and "AssertionError" in control.stderr


SPIN = """
    import time

    def spin(seconds):
        end = time.perf_counter() + seconds
        x = 0
        while time.perf_counter() < end:
            x += 1

    spin(2.0)
"""


def test_one_kilohertz_gives_rate_times_duration_samples(pipegauge, write_script):
    # GIVEN one busy thread for 2 s
    write_script(SPIN)
    # WHEN sampled at 1 kHz on wall time
    run_dir = _run_dir(pipegauge("run", "--no-history", "--no-timeline", "--mode", "sample",
                                 "--rate", "1000", "prog.py"))
    run = pg.Run.load(run_dir / "profile.pgprof")
    # THEN the periods sampled in Python code are rate x duration, within 30%
    charged = sum(_samples(run_dir).values())
    assert 0.7 * 2000 <= charged <= 1.3 * 2000, charged
    # AND the estimated time of the busy function is its real time
    spin = next(item for item in run.stats() if item.name == "spin")
    assert 1.4 <= spin.total_time <= 2.6, spin.total_time
    assert spin.calls == 0  # not measured
    assert int(run.meta["samples_lost"]) == 0


@pytest.mark.parametrize("rate", ["0", "-5", "20000", "fast", "nan"])
def test_bad_rate_is_one_error_line(pipegauge, write_script, rate):
    write_script("print('ran')\n")
    result = pipegauge("run", "--mode", "sample", f"--rate={rate}", "prog.py")
    line = assert_one_error_line(result)
    assert "rate" in line or "--rate" in line
    assert "ran" not in result.stdout


def test_bad_mode_and_clock_are_one_error_line(pipegauge, write_script):
    write_script("print('ran')\n")
    assert_one_error_line(pipegauge("run", "--mode", "statistical", "prog.py"))
    assert_one_error_line(pipegauge("run", "--mode", "sample", "--clock", "cycles", "prog.py"))


def test_sampled_profile_round_trips_through_both_readers(pipegauge, write_script):
    # GIVEN a sampled run of the pipeline
    write_script(PIPELINE.replace("SECONDS", "0.6"))
    run_dir = _run_dir(pipegauge("run", "--no-history", "--mode", "sample", "prog.py"))
    path = run_dir / "profile.pgprof"
    # WHEN read by the pure-Python reader and by the C reader
    oracle = format_reader.read_profile(path)
    profile = pg.Run.load(path).profile
    assert profile is not None
    # THEN metadata, functions, the tree's times and the samples agree
    assert oracle["meta"] == profile.meta
    assert oracle["meta"]["mode"] == "sample"
    records = profile.functions(False)
    assert [(f["name"], f["file"], f["line"]) for f in oracle["functions"]] == \
        [(r[0], r[1], r[2]) for r in records]
    nodes = profile.nodes(False)
    scale = float(profile.run["ns_per_unit"])  # the C reader gives ns, the oracle units
    assert [value * scale for n in oracle["nodes"] for value in (n["inclusive"], n["exclusive"])] == \
        pytest.approx([float(n[k]) for n in nodes for k in (4, 5)], rel=1e-9, abs=1e-3)
    assert [int(n[2]) for n in nodes] == [n["calls"] for n in oracle["nodes"]]
    assert all(n["calls"] == 0 for n in oracle["nodes"])
    samples = next(m for m in oracle["metrics"] if m["name"] == "samples")
    assert samples["unit"] == "count"
    index = [name for name, _unit, _merge in profile.metrics()].index("samples")
    assert [int(own) for own, _total in profile.node_metric(index)] == \
        [samples["values"].get(i, 0) for i in range(len(nodes))]
    # AND the tree is consistent: a node's total is its own time plus its children's
    children: dict[int, int] = {}
    for node in oracle["nodes"][1:]:
        children[node["parent"]] = children.get(node["parent"], 0) + node["inclusive"]
    for i, node in enumerate(oracle["nodes"][1:], start=1):
        assert node["inclusive"] == node["exclusive"] + children.get(i, 0)


def test_views_show_samples_not_calls(pipegauge, write_script, workdir):
    # GIVEN a sampled run
    write_script(SPIN.replace("2.0", "0.5"))
    run_dir = _run_dir(pipegauge("run", "--no-history", "--mode", "sample", "prog.py"))
    # WHEN viewed, exported to JSON and summarised
    view = pipegauge("view", str(run_dir))
    export = pipegauge("export", str(run_dir), "--format", "json", "-o", "out.json")
    # THEN the table has samples and estimated times, no calls or percentiles
    assert view.returncode == 0, view.stderr
    head = next(line for line in view.stdout.splitlines() if "function" in line and "share" in line)
    assert "samples" in head and "ncalls" not in head and "p95" not in head
    assert "sampling" in view.stdout
    # AND the JSON has no call counts or latencies, and the sampler's numbers
    assert export.returncode == 0, export.stderr
    document = json.loads((workdir / "out.json").read_text())
    assert document["sampling"]["clock"] == "wall"
    spin = next(f for f in document["functions"] if f["name"] == "spin")
    assert spin["calls"] is None and spin["latency"] is None and spin["samples"] > 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["sampling"]["samples_taken"] > 0
    assert all(f["calls"] is None for f in summary["top_functions"])


FORKS = """
    import multiprocessing, os, time

    def work(n):
        x = 0
        for i in range(n):
            x += i * i
        return x

    def main():
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(2) as pool:
            print(sum(pool.map(work, [200000] * 8)))
        pid = os.fork()
        if pid == 0:
            work(300000)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0, status
        print("FORKS OK")

    if __name__ == "__main__":
        main()
"""


def test_fork_and_multiprocessing_workers_do_not_crash(pipegauge, write_script):
    # GIVEN a program with a fork pool and a bare fork
    write_script(FORKS)
    # WHEN it runs sampled at a high rate
    result = pipegauge("run", "--no-history", "--mode", "sample", "--rate", "2000", "prog.py")
    # THEN everyone finishes normally and the run is written
    assert result.returncode == 0, result.stderr
    assert "FORKS OK" in result.stdout
    assert "Traceback" not in result.stderr
    assert result.only_run_dir().joinpath("profile.pgprof").exists()


# Code objects created and destroyed at a high rate (exec in a loop), some of
# them while an exception propagates: a sample may name a code object that
# dies before the next drain. On 3.10/3.11 that crashed the drain about once
# per three runs of the fork-pool test above, until code deaths drained the
# rings first (3.12+: a code watcher; 3.10/3.11: a wrapped deallocator).
CODE_CHURN = """
    import time

    TEMPLATE = (
        "def generated_work(n):\\n"
        "    s = 0\\n"
        "    for k in range(n):\\n"
        "        s += k * {i}\\n"
        "    return s\\n"
    )

    def make(i):
        space = {}
        exec(compile(TEMPLATE.format(i=i), f"<generated-{i}>", "exec"), space)
        return space.pop("generated_work")

    def boom(i):
        space = {}
        exec(compile(f"def raiser():\\n    raise KeyError({i})\\n", "<raiser>", "exec"), space)
        raiser = space.pop("raiser")
        del space
        raiser()  # unwinding this frame frees raiser and its code object

    deadline = time.monotonic() + 1.5
    made = caught = 0
    while time.monotonic() < deadline:
        assert make(made)(5000) == made * 5000 * 4999 // 2
        made += 1
        try:
            boom(made)
        except KeyError as error:
            assert error.args == (made,), error.args
            caught += 1
    print("CODE CHURN OK", made > 100, caught == made)
"""


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_code_objects_dying_between_sample_and_drain(pipegauge, write_script, clock):
    # GIVEN a program that makes and drops code objects without pause
    write_script(CODE_CHURN)
    # WHEN it is sampled at a high rate
    result = pipegauge("run", "--no-history", "--no-timeline", "--mode", "sample",
                       "--rate", "5000", "--clock", clock, "prog.py")
    # THEN it ends normally, its exceptions intact
    assert result.returncode == 0, result.stderr
    assert "CODE CHURN OK True True" in result.stdout
    # AND the short-lived functions were resolved by name
    run = pg.Run.load(result.only_run_dir() / "profile.pgprof")
    names = {item.name for item in run.stats()}
    assert {"make", "generated_work"} <= names, names


# Frames pushed and popped as fast as Python can: a chain of generators
# resumed per record (each resume enters the evaluation loop, which on
# 3.11/3.12 links a C-level frame record before the frame it points to: the
# window in which the unguarded walk crashed 3.11), short calls, C calls.
CHURN = """
    import time

    def source(count):
        for i in range(count):
            yield f"{i},r{i % 5},{(i * 37) % 1000}.{i % 100:02d},{i % 7}"

    def parse(lines):
        for line in lines:
            ident, region, amount, flag = line.split(",")
            yield {"id": int(ident), "region": region, "amount": float(amount), "flag": int(flag)}

    def keep(records):
        for record in records:
            if record["flag"] != 3:
                yield record

    def enrich(records):
        for record in records:
            record["eur"] = round(record["amount"] * 1.1, 2)
            yield record

    def tiny(x):
        return x + 1

    deadline = time.monotonic() + 2.0
    total = 0
    while time.monotonic() < deadline:
        for record in enrich(keep(parse(source(5000)))):
            total += tiny(record["id"])
        total += sum(tiny(x) for x in range(500))
    print("CHURN OK", total > 0)
"""


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_sampling_frame_churn_at_ten_kilohertz_never_crashes(pipegauge, write_script, clock):
    # GIVEN a program that pushes and pops frames without pause for 2 s
    write_script(CHURN)
    # WHEN it is sampled at the highest rate
    result = pipegauge("run", "--no-history", "--no-timeline", "--mode", "sample",
                       "--rate", "10000", "--clock", clock, "prog.py")
    # THEN it ends normally (a walk caught mid-push is dropped, not fatal)
    assert result.returncode == 0, result.stderr
    assert "CHURN OK True" in result.stdout
    run = pg.Run.load(result.only_run_dir() / "profile.pgprof")
    # (cpu timers fire on the kernel's tick: fewer samples, each weighing more)
    assert int(run.meta["samples_taken"]) >= (2000 if clock == "wall" else 200)
    # AND the generators are in the profile
    names = {item.name for item in run.stats()}
    assert {"source", "parse", "keep", "enrich"} <= names, names


def test_api_profile_block_in_sampling_mode(python, write_script, workdir):
    # GIVEN the API with mode="sample"
    write_script("""
        import pipegauge, sys

        def spin(n):
            x = 0
            for i in range(n):
                x += i
            return x

        with pipegauge.profile(mode="sample", sample_hz=2000, sample_clock="cpu",
                               output_dir="api-run", history=False) as run:
            assert sys.getprofile() is None
            spin(3_000_000)
        print(run.meta["mode"], run.meta["sample_hz"], run.meta["sample_clock"])
    """)
    result = python("prog.py")
    # THEN the block sampled at the asked rate and clock
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sample", "2000", "cpu"]
    assert (workdir / "api-run" / "profile.pgprof").exists()


def test_config_sampling_hz_takes_effect(pipegauge, write_script, workdir):
    # GIVEN a configuration file asking for 250 Hz
    (workdir / ".pipegauge.toml").write_text("sampling_hz = 250\n")
    write_script(SPIN.replace("2.0", "0.3"))
    run_dir = _run_dir(pipegauge("run", "--no-history", "--mode", "sample", "prog.py"))
    # THEN the run sampled at 250 Hz
    assert pg.Run.load(run_dir / "profile.pgprof").meta["sample_hz"] == "250"


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread POSIX timers are Linux-only")
def test_signal_handler_and_timers_do_not_outlive_the_session(python, write_script):
    # GIVEN two sampled sessions in one process, then a long sleep
    write_script("""
        import pipegauge, signal, time

        def spin(n):
            x = 0
            for i in range(n):
                x += i

        for _ in range(2):
            with pipegauge.profile(mode="sample", sample_hz=5000, history=False, output_dir="r"):
                spin(500_000)
        before = time.process_time()
        time.sleep(0.3)  # timers left armed would interrupt (and cost) here
        print("SLEPT", time.process_time() - before < 0.1)
    """)
    result = python("prog.py")
    assert result.returncode == 0, result.stderr
    assert "SLEPT True" in result.stdout


LINES = """
    import time

    def two_loops(n):
        slow = 0
        for i in range(3 * n):
            slow += (i * i) % 7
        fast = 0
        for i in range(n):
            fast += i
        return slow + fast

    end = time.perf_counter() + 1.5
    while time.perf_counter() < end:
        two_loops(20000)
"""


def test_samples_give_line_heat(pipegauge, write_script):
    if not hasattr(pipegauge_core(), "Profile") or not hasattr(pipegauge_core().Profile, "line_heat"):
        pytest.skip("the line heat binding (Profile.line_heat) comes with the line-heat part")
    # GIVEN a function with a heavy loop (lines 6-7) and a light one (lines 9-10)
    write_script(LINES)
    run_dir = _run_dir(pipegauge("run", "--no-history", "--mode", "sample", "--rate", "1000", "prog.py"))
    run = pg.Run.load(run_dir / "profile.pgprof")
    profile = run.profile
    assert profile is not None
    func = next(item for item in run.stats() if item.name == "two_loops")
    rows = [row for row in profile.line_heat() if row[0] == func.index]
    # THEN its lines' own time adds up to its own time, and hits to its samples
    assert sum(row[2] for row in rows) * 1e-9 == pytest.approx(func.self_time, rel=0.02)
    assert sum(row[4] for row in rows) == func.metric("samples", inclusive=False)
    # AND the heavy loop is hotter than the light one
    by_line = {row[1]: row[2] for row in rows}
    heavy = by_line.get(6, 0) + by_line.get(7, 0)
    light = by_line.get(9, 0) + by_line.get(10, 0)
    assert heavy > 1.5 * light, by_line
    # AND the caller's line (the call site, line 15) carries the callee's time as total
    module = next(item for item in run.stats() if item.name == "<module>")
    module_rows = {row[1]: row for row in profile.line_heat() if row[0] == module.index}
    assert module_rows[15][3] >= 0.8 * func.total_time * 1e9


def pipegauge_core():
    from pipegauge import _core

    return _core
