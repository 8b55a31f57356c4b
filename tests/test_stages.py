"""Pipeline stages: records in/out, own vs waiting time, threads, async,
with-blocks, exceptions, the bottleneck, the span log, and the stage table
through the profile file and ``pipegauge view --stages``."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import pipegauge
from pipegauge import _format, stage
from pipegauge._stage_report import stage_report


def busy_wait(seconds: float) -> None:
    """Exactly `seconds` of wall time in this thread, whatever the load."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def by_name(profile: Any) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in profile.stages()}


# -- a generator chain with known counts --------------------------------------

@stage("t.source")
def source(n: int):
    for i in range(n):
        yield i


@stage("t.parse")
def parse(items):
    for i in items:
        yield {"id": i, "text": str(i)}


@stage("t.filter")
def keep_quarter(records):
    for record in records:
        if record["id"] % 4 == 0:
            yield record


@stage("t.enrich")
def enrich(records):
    for record in records:
        record["double"] = record["id"] * 2
        yield record


@stage("t.sink")
def sink(records) -> int:
    count = 0
    for _ in records:
        count += 1
    return count


@pytest.mark.parametrize("profiled", [True, False])
def test_chain_reports_exact_records_and_filter_ratio(profiled: bool) -> None:
    # GIVEN a source -> parse -> filter -> enrich -> sink chain over 1000 records
    stage.reset()
    # WHEN it runs, under a profile or with no profiling at all
    if profiled:
        with pipegauge.profile() as run:
            assert sink(enrich(keep_quarter(parse(source(1000))))) == 250
        profile = run.profile
    else:
        assert sink(enrich(keep_quarter(parse(source(1000))))) == 250
        profile = stage.snapshot()
    # THEN every stage has its exact records in and out
    stages = by_name(profile)
    expected = {"t.source": (0, 1000), "t.parse": (1000, 1000), "t.filter": (1000, 250),
                "t.enrich": (250, 250), "t.sink": (250, 0)}
    for name, (records_in, records_out) in expected.items():
        assert (stages[name]["records_in"], stages[name]["records_out"]) == (records_in, records_out), name
        assert stages[name]["invocations"] == 1
        assert stages[name]["exceptions"] == 0
    report = {s.name: s for s in stage_report(profile).stages}
    assert report["t.filter"].filter_ratio == 0.25
    assert report["t.parse"].filter_ratio == 1.0
    # per-record latency: one value per record out
    assert stages["t.parse"]["latency"]["count"] == 1000
    assert stages["t.filter"]["latency"]["count"] == 250


# -- the slow stage: own time, not charged to its neighbours, the bottleneck --

@stage("s.source")
def slow_source(n: int):
    yield from range(n)


SLOW_SPENT: list[float] = []  # wall seconds each record really took in s.slow


@stage("s.slow")
def one_ms_per_record(items):
    for item in items:
        start = time.perf_counter()
        busy_wait(0.001)
        SLOW_SPENT.append(time.perf_counter() - start)
        yield item


@stage("s.sink")
def slow_sink(items) -> int:
    return sum(1 for _ in items)


def test_slow_stage_owns_its_time_and_is_the_bottleneck() -> None:
    # GIVEN a stage that spends 1 ms per record, between a source and a sink
    SLOW_SPENT.clear()
    with pipegauge.profile() as run:
        # WHEN 500 records flow through it
        assert slow_sink(one_ms_per_record(slow_source(500))) == 500
    stages = by_name(run.profile)
    slow, upstream, downstream = stages["s.slow"], stages["s.source"], stages["s.sink"]
    # THEN its own time is ~500 ms (+-10%): of what the delays really took,
    # which is 500 ms unless the machine stole the CPU at a deadline
    spent_ns = sum(SLOW_SPENT) * 1e9
    assert 0.9 * spent_ns <= slow["own_ns"] <= 1.1 * spent_ns, (slow["own_ns"], spent_ns)
    if spent_ns <= 550e6:
        assert 450e6 <= slow["own_ns"] <= 550e6, slow["own_ns"]
    # AND that time is not its neighbours' own time: the sink waited on it
    # upstream, the source was suspended while it worked
    assert upstream["own_ns"] < 50e6 and downstream["own_ns"] < 50e6
    assert downstream["upstream_ns"] >= 450e6
    assert upstream["suspended_ns"] >= 450e6
    assert slow["upstream_ns"] < 50e6
    # AND the verdict names it
    report = stage_report(run.profile)
    assert report.bottleneck is not None and report.bottleneck.stage == "s.slow"
    assert report.bottleneck.text.startswith("s.slow limits throughput: ")
    assert report.bottleneck.factor is not None and report.bottleneck.factor > 5
    assert "[s.slow]" in report.diagram()
    assert slow["latency"]["count"] == 500
    assert 0.9e6 <= slow["latency"]["p50_ns"] <= 1.3e6


# -- threads ------------------------------------------------------------------

@stage("p.work")
def work(batch: list[int]) -> list[int]:
    busy_wait(0.002)
    return [x + 1 for x in batch]


def map_on_four_threads(function: Any, items: list[Any]) -> list[Any]:
    """pool.map on a 4-thread pool in which every thread surely runs the
    function. Left alone, a pool may run everything on 3 threads (seen in CI:
    a pool starts a thread per submit only while none is idle, and the
    threads that got the GIL can take every task). Here each thread's first
    call waits until all 4 threads have made one: while 3 wait (GIL
    released), none is idle, so the pool starts the fourth, and it takes the
    next task."""
    barrier = threading.Barrier(4)
    local = threading.local()

    def first_call_waits(item: Any) -> Any:
        if not getattr(local, "met", False):
            local.met = True
            barrier.wait(30.0)
        return function(item)

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(first_call_waits, items))


def test_thread_pool_stage_sums_records_and_has_spans_per_thread() -> None:
    # GIVEN a plain-function stage used from a 4-thread pool
    with pipegauge.profile() as run:
        # WHEN 100 batches of 10 records go through it
        results = map_on_four_threads(work, [list(range(10))] * 100)
    assert len(results) == 100
    profile = run.profile
    stages = by_name(profile)
    # THEN the records are summed over the threads
    assert stages["p.work"]["invocations"] == 100
    assert stages["p.work"]["records_in"] == 1000
    assert stages["p.work"]["records_out"] == 1000
    # AND its spans say which thread ran each invocation
    index = [s["name"] for s in profile.stages()].index("p.work")
    spans = [span for span in profile.spans() if span[0] == index]
    assert sum(span[5] for span in spans) == 100
    assert len({span[1] for span in spans}) == 4
    assert threading.get_native_id() not in {span[1] for span in spans}
    assert all(span[2] <= span[3] for span in spans)
    # AND CPU time was measured at each call's boundaries
    assert stages["p.work"]["cpu_measured"] == 100
    assert stages["p.work"]["cpu_ns"] > 100 * 1e6


# -- async --------------------------------------------------------------------

FETCH_BUSY: list[float] = []  # wall seconds each fetch really spent busy


@stage("a.fetch")
async def fetch(keys: list[int]) -> list[int]:
    await asyncio.sleep(0.02)
    start = time.perf_counter()
    busy_wait(0.005)
    FETCH_BUSY.append(time.perf_counter() - start)
    return [k * 10 for k in keys]


@stage("a.stream")
async def stream(n: int):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


def test_async_function_and_async_generator_stages() -> None:
    async def main() -> tuple[list[int], list[int], list[int]]:
        first = await fetch([1, 2, 3])
        second = await asyncio.create_task(fetch([4, 5]))
        items = [item async for item in stream(7)]
        return first, second, items

    FETCH_BUSY.clear()
    with pipegauge.profile() as run:
        first, second, items = asyncio.run(main())
    assert first == [10, 20, 30] and second == [40, 50] and items == list(range(7))
    stages = by_name(run.profile)
    fetched = stages["a.fetch"]
    assert (fetched["invocations"], fetched["records_in"], fetched["records_out"]) == (2, 5, 5)
    # the awaits are suspended time, the busy part is own time
    busy_ns = sum(FETCH_BUSY) * 1e9
    assert fetched["suspended_ns"] >= 2 * 15e6
    assert 0.9 * busy_ns <= fetched["own_ns"] <= busy_ns + 10e6, (fetched["own_ns"], busy_ns)
    streamed = stages["a.stream"]
    assert (streamed["invocations"], streamed["records_out"]) == (1, 7)
    assert streamed["exceptions"] == 0


# -- with-blocks, nesting, explicit counts, exceptions -------------------------

def test_context_manager_counts_and_nested_time() -> None:
    with pipegauge.profile() as run:
        with stage("w.outer") as outer:
            outer.add_records(40, out=10)
            outer.add_bytes(4096)
            busy_wait(0.01)
            with stage("w.inner"):
                busy_wait(0.03)
    stages = by_name(run.profile)
    outer_stats, inner = stages["w.outer"], stages["w.inner"]
    assert (outer_stats["records_in"], outer_stats["records_out"], outer_stats["bytes"]) == (40, 10, 4096)
    # the inner block is nested time of the outer one, not its own
    assert 25e6 <= inner["own_ns"] <= 60e6
    assert 8e6 <= outer_stats["own_ns"] <= 25e6
    assert outer_stats["nested_ns"] >= 25e6
    assert outer_stats["cpu_ns"] < inner["cpu_ns"] + 25e6


@stage("e.plain")
def fails(x: int) -> int:
    raise ValueError(x)


@stage("e.gen")
def fails_midway(items):
    for item in items:
        if item == 3:
            raise KeyError(item)
        yield item


def test_exceptions_are_counted_and_propagate() -> None:
    with pipegauge.profile() as run:
        for i in range(3):
            with pytest.raises(ValueError):
                fails(i)
        with pytest.raises(KeyError):
            list(fails_midway(iter(range(10))))
        with pytest.raises(RuntimeError):
            with stage("e.block"):
                raise RuntimeError("boom")
    stages = by_name(run.profile)
    assert (stages["e.plain"]["invocations"], stages["e.plain"]["exceptions"]) == (3, 3)
    assert stages["e.gen"]["exceptions"] == 1
    assert stages["e.gen"]["records_out"] == 3
    assert stages["e.gen"]["records_in"] == 4  # the proxy counted the pulls
    assert stages["e.block"]["exceptions"] == 1


def test_stage_iter_wraps_an_iterator_between_stages() -> None:
    with pipegauge.profile() as run:
        lines = stage.iter((f"{i}\n" for i in range(300)), "i.read")
        total = sink(enrich(keep_quarter(parse(int(x) for x in lines))))
    assert total == 75
    stages = by_name(run.profile)
    assert stages["i.read"]["records_out"] == 300
    assert stages["t.parse"]["records_in"] == 300


def test_span_log_stays_bounded_and_keeps_every_invocation() -> None:
    tiny = stage("b.tiny")(lambda x: x)
    with pipegauge.profile() as run:
        for i in range(40000):
            tiny(i)
    profile = run.profile
    log = profile.stage_log
    spans = profile.spans()
    assert len(spans) <= log["span_limit"] == 16384
    assert log["coalesced"] >= 1 and log["spans_dropped"] == 0
    assert sum(span[5] for span in spans) == 40000
    assert by_name(profile)["b.tiny"]["invocations"] == 40000


def test_stage_names_are_checked() -> None:
    with pytest.raises(ValueError):
        stage("")
    with pytest.raises(TypeError):
        stage(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        stage("x").add_records(-1)


# -- through the file, and the CLI ----------------------------------------------

PROGRAM = """
    import time
    from pipegauge import stage

    @stage("source")
    def source(n):
        yield from range(n)

    @stage("parse")
    def parse(items):
        for i in items:
            yield str(i)

    @stage("slow")
    def slow(items):
        for s in items:
            end = time.perf_counter() + 0.001
            while time.perf_counter() < end:
                pass
            yield s

    @stage("sink")
    def sink(items):
        return sum(1 for _ in items)

    print(sink(slow(parse(source(200)))))
"""


def test_run_file_and_view_stages(write_script, pipegauge, tmp_path: Path) -> None:
    # GIVEN a program with declared stages, run under `pipegauge run`
    script = write_script(PROGRAM)
    result = pipegauge("run", "-o", str(tmp_path / "run"), str(script))
    assert result.returncode == 0, result.stderr
    # THEN the profile file carries the stage table, read alike by C and Python
    profile_path = tmp_path / "run" / "profile.pgprof"
    python_view = _format.read_profile(profile_path)["stages"]
    c_view = pipegauge_profile = __import__("pipegauge")._core.Profile.read(str(profile_path))
    names = [s["name"] for s in python_view["stages"]]
    assert names == [s["name"] for s in c_view.stages()] == ["source", "parse", "slow", "sink"]
    assert [s["records_out"] for s in python_view["stages"]] == [200, 200, 200, 0]
    assert len(python_view["spans"]) == len(pipegauge_profile.spans()) == 4
    # AND summary.json has the digest
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())["stages"]
    assert summary["diagram"] == "source -> parse -> [slow] -> sink" and not summary["auto"]
    assert summary["bottleneck"].startswith("slow limits throughput")
    assert [(s["records_in"], s["records_out"]) for s in summary["stages"]] == [
        (0, 200), (200, 200), (200, 200), (200, 0)]
    # AND `view --stages` shows the table, the diagram and the verdict in 80 columns
    view = pipegauge("view", str(tmp_path / "run"), "--stages")
    assert view.returncode == 0, view.stderr
    lines = view.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [l for l in lines if len(l) > 80]
    assert "source -> parse -> [slow] -> sink" in view.stdout
    assert any(line.startswith("slow limits throughput: ") for line in lines)
    assert any(line.startswith("parse ") and " 200 " in line for line in lines)


AUTO_PROGRAM = """
    import time

    def extract():
        time.sleep(0.05)
        return list(range(1000))

    def transform(rows):
        time.sleep(0.1)
        return [r * 2 for r in rows]

    def tiny():
        return 1

    def main():
        rows = transform(extract())
        tiny()
        return len(rows)

    main()
"""


def test_auto_stages_when_none_are_declared(write_script, pipegauge, tmp_path: Path) -> None:
    # GIVEN a program that declares no stage
    script = write_script(AUTO_PROGRAM)
    result = pipegauge("run", "-o", str(tmp_path / "run"), str(script))
    assert result.returncode == 0, result.stderr
    # WHEN its stages are shown
    view = pipegauge("view", str(tmp_path / "run"), "--stages")
    # THEN the entry function's callees above 1% of the run are the stages
    assert "pipeline stages (auto" in view.stdout
    assert "extract -> [transform]" in view.stdout
    assert "tiny" not in view.stdout
    profile = pipegauge_core_read(tmp_path / "run" / "profile.pgprof")
    report = stage_report(profile)
    assert report.auto and [s.name for s in report.stages] == ["extract", "transform"]
    assert report.bottleneck is not None and report.bottleneck.stage == "transform"


def pipegauge_core_read(path: Path) -> Any:
    return pipegauge._core.Profile.read(str(path))


def test_json_export_carries_documented_stages(write_script, pipegauge, tmp_path: Path) -> None:
    from test_cli_export import documented_keys

    # GIVEN a run with declared stages WHEN exported as JSON
    script = write_script(PROGRAM)
    assert pipegauge("run", "-o", str(tmp_path / "run"), str(script)).returncode == 0
    result = pipegauge("export", str(tmp_path / "run"), "--format", "json", "-o",
                       str(tmp_path / "out.json"))
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "out.json").read_text())
    # THEN the stages, spans and bottleneck carry exactly the documented keys
    stages = document["stages"]
    assert set(stages) == documented_keys("stages")
    assert set(stages["stages"][0]) == documented_keys("stages.stages[]")
    assert set(stages["spans"][0]) == documented_keys("stages.spans[]")
    assert set(stages["bottleneck"]) == documented_keys("stages.bottleneck")
    assert [s["name"] for s in stages["stages"]] == ["source", "parse", "slow", "sink"]
    assert stages["bottleneck"]["stage"] == "slow"
    assert stages["diagram"] == "source -> parse -> [slow] -> sink"
    assert {span["stage"] for span in stages["spans"]} == {0, 1, 2, 3}


def test_chrome_trace_has_stage_spans_per_thread(tmp_path: Path) -> None:
    # GIVEN a profile whose stage ran on 4 threads
    with pipegauge.profile() as run:
        map_on_four_threads(work, [[1, 2]] * 40)
    # WHEN exported as a Chrome trace
    out = tmp_path / "trace.json"
    pipegauge._core.export(run.profile, "chrome", str(out))
    events = json.loads(out.read_text())["traceEvents"]
    # THEN each span is a complete event on its thread's track, named
    spans = [e for e in events if e.get("cat") == "stage"]
    assert sum(e["args"]["invocations"] for e in spans) == 40
    assert {e["name"] for e in spans} == {"p.work"}
    threads = {e["tid"] for e in spans}
    assert len(threads) == 4
    names = {e["tid"]: e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert all(names[t] == f"stages, thread {t}" for t in threads)
    assert all(e["ph"] == "X" and e["dur"] >= 1900 for e in spans)  # 2 ms busy-waits, in us


def test_generator_chains_in_several_threads_at_once() -> None:
    # GIVEN the same generator chain run by 3 threads at the same time
    barrier = threading.Barrier(3)
    totals: list[int] = []

    def worker() -> None:
        barrier.wait()
        totals.append(sink(enrich(keep_quarter(parse(source(400))))))

    with pipegauge.profile() as run:
        threads = [threading.Thread(target=worker) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # THEN each thread's stack kept its own stages apart: the counts add up
    assert totals == [100, 100, 100]
    stages = by_name(run.profile)
    assert (stages["t.parse"]["records_in"], stages["t.parse"]["records_out"]) == (1200, 1200)
    assert (stages["t.filter"]["records_in"], stages["t.filter"]["records_out"]) == (1200, 300)
    assert stages["t.sink"]["records_in"] == 300
    assert stages["t.filter"]["invocations"] == 3
    index = [s["name"] for s in run.profile.stages()].index("t.filter")
    assert len({span[1] for span in run.profile.spans() if span[0] == index}) == 3


@stage("io.read")
def read_file(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def test_function_stage_io_and_cpu_are_measured(tmp_path: Path) -> None:
    # GIVEN a file of 1 MiB and a stage that reads it, in a fresh thread
    # (a thread's first stage call always has its /proc I/O read)
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * (1 << 20))
    with pipegauge.profile() as run:
        thread = threading.Thread(target=read_file, args=(str(path),))
        thread.start()
        thread.join()
    # THEN its I/O is the bytes it read, not the profiler's own /proc reads
    io = by_name(run.profile)["io.read"]
    assert io["io_measured"] == 1
    assert (1 << 20) <= io["io_read_bytes"] <= (1 << 20) + 16384, io["io_read_bytes"]
    assert io["cpu_measured"] == 1 and io["cpu_ns"] > 0
    report = {s.name: s for s in stage_report(run.profile).stages}
    assert report["io.read"].io_read == io["io_read_bytes"]


@stage("y.gen")
def gen_with_open_block(items):
    with stage("y.block"):
        for item in items:
            yield item


def test_with_block_open_across_a_yield_is_counted_as_lost() -> None:
    # GIVEN a generator stage whose with-block stays open across its yields
    with pipegauge.profile() as run:
        assert list(gen_with_open_block(iter(range(5)))) == list(range(5))
    # THEN the generator's counts are intact, and the block's lost
    # activations are counted instead of being charged to someone else
    stages = by_name(run.profile)
    assert (stages["y.gen"]["records_in"], stages["y.gen"]["records_out"]) == (5, 5)
    assert run.profile.stage_log["lost"] >= 1


@stage("g.echo")
def echo():
    received = yield "ready"
    while received is not None:
        received = yield received * 2


def test_generator_stage_forwards_send_and_close() -> None:
    with pipegauge.profile() as run:
        echo_stage = echo()
        assert next(echo_stage) == "ready"
        assert echo_stage.send(4) == 8
        assert echo_stage.send(5) == 10
        echo_stage.close()
        # a consumer that stops early ends the invocation too
        for item in parse(source(100)):
            if item["id"] == 9:
                break
    stages = by_name(run.profile)
    assert (stages["g.echo"]["invocations"], stages["g.echo"]["records_out"]) == (1, 3)
    assert stages["t.parse"]["records_out"] == 10
    names = [s["name"] for s in run.profile.stages()]
    ended = {names[span[0]] for span in run.profile.spans()}
    assert {"g.echo", "t.parse", "t.source"} <= ended


STAGED_POOL = """\
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from pipegauge import stage


@stage("work")
def work(batch):
    return [x * 2 for x in batch]


if __name__ == "__main__":
    with stage("plan") as s:
        batches = [list(range(10))] * 30
        s.add_records(30)
    with ProcessPoolExecutor(3, mp_context=mp.get_context("fork")) as pool:
        print(sum(len(r) for r in pool.map(work, batches)))
"""


def test_stages_of_worker_processes_merge_into_the_run(write_script, pipegauge,
                                                         tmp_path: Path) -> None:
    # GIVEN a stage that runs in the worker processes of a pool
    script = write_script(STAGED_POOL)
    result = pipegauge("run", "-o", str(tmp_path / "run"), str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "300"
    # THEN the run's stage table sums the workers' records, and their spans
    # are on the workers' threads
    profile = pipegauge_core_read(tmp_path / "run" / "profile.pgprof")
    stages = by_name(profile)
    assert (stages["work"]["invocations"], stages["work"]["records_in"]) == (30, 300)
    assert stages["work"]["records_out"] == 300
    assert stages["plan"]["records_in"] == 30
    index = [s["name"] for s in profile.stages()].index("work")
    work_threads = {span[1] for span in profile.spans() if span[0] == index}
    plan_threads = {span[1] for span in profile.spans() if span[0] != index}
    assert work_threads and not work_threads & plan_threads
    assert sum(span[5] for span in profile.spans() if span[0] == index) == 30
