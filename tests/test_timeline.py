"""The resource timeline: a C thread samples RSS, CPU, I/O and threads
into a bounded buffer stored in the profile, shown by ``view --timeline``
and exported as JSON."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from conftest import assert_one_error_line
from pipegauge import _core
from pipegauge._format import read_profile
from pipegauge._resources import torch_memory
from pipegauge.renderers.timeline import SPARK_WIDTH, columns, sparkline

MIB = 1 << 20

ALLOCATE_AND_FREE = """
    import time
    def allocate():
        return [bytearray(1 << 20) for _ in range(200)]   # 200 MiB, touched
    def main():
        time.sleep(0.3)
        blocks = allocate()
        time.sleep(0.5)
        del blocks
        time.sleep(0.5)
    main()
"""


def profile_of(run_dir):
    return _core.Profile.read(str(run_dir / "profile.pgprof"))


def test_timeline_of_200mb_allocate_and_free_shows_the_peak(pipegauge, write_script, workdir):
    # GIVEN a script that allocates 200 MB, holds it 0.5 s and frees it
    write_script(ALLOCATE_AND_FREE)
    # WHEN it runs under pipegauge with the default timeline (20 Hz)
    result = pipegauge("run", "-o", "out", "prog.py")
    assert result.returncode == 0, result.stderr
    timeline = profile_of(workdir / "out").timeline()
    # THEN the timeline has ~20 samples a second covering the run
    assert timeline is not None and timeline["interval_ns"] == 50_000_000
    count = len(timeline["t_ns"])
    assert 15 <= count <= 60, count
    rss = timeline["rss_bytes"]
    # AND RSS rises by ~200 MB at the peak, and falls back after the free
    baseline = min(rss[:3])
    peak_at = rss.index(max(rss))
    assert max(rss) - baseline >= 190 * MIB, (baseline, max(rss))
    assert rss[-1] < max(rss) - 150 * MIB
    assert 0 < peak_at < count - 1
    # AND samples are contiguous, in order, and cover the run
    ends = [t + dt for t, dt in zip(timeline["t_ns"], timeline["dt_ns"])]
    assert all(end <= start for end, start in zip(ends, timeline["t_ns"][1:]))
    assert ends[-1] >= 1.2e9
    assert max(timeline["threads"]) >= 2  # the program's thread and the sampler
    # AND without NVML the metadata says why there is no GPU section
    meta = profile_of(workdir / "out").meta
    assert meta["gpu"].startswith("none ("), meta["gpu"]
    assert timeline["gpus"] == []


def test_view_timeline_draws_sparklines_in_80_columns(pipegauge, write_script, workdir):
    write_script(ALLOCATE_AND_FREE)
    assert pipegauge("run", "-o", "out", "prog.py").returncode == 0
    # WHEN viewed with --timeline
    result = pipegauge("view", "out", "--timeline", env={"PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stderr
    text = result.stdout.split("resource timeline", 1)[1]
    # THEN one sparkline per resource, the RSS peak printed, every line <= 80 columns
    rows = {line.split()[0]: line for line in text.splitlines()[1:] if line.strip()}
    assert {"RSS", "CPU", "I/O", "threads", "gpu:"} <= set(rows)
    peak = re.search(r"peak ([\d.]+)MiB", rows["RSS"])
    assert peak and float(peak.group(1)) >= 200
    spark = rows["RSS"][13:13 + SPARK_WIDTH].rstrip()
    assert "█" in spark and spark[0] != "█" and spark[-1] != "█"
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


def test_view_timeline_is_ascii_when_the_terminal_cannot_encode_blocks(pipegauge, write_script):
    write_script(ALLOCATE_AND_FREE)
    assert pipegauge("run", "-o", "out", "prog.py").returncode == 0
    result = pipegauge("view", "out", "--timeline", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert "@" in result.stdout.split("resource timeline", 1)[1]


def test_fast_sampling_stays_bounded_and_keeps_totals(pipegauge, write_script, workdir):
    # GIVEN a 4 s run sampled at 5000 Hz (20000 raw samples; a busy machine
    # makes the sampler skip ticks, but it reads /proc well over 1000 times
    # a second), half of it CPU-bound
    write_script("""
        import time
        def spin(seconds):
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                pass
        before = time.process_time()
        time.sleep(2.0)
        spin(2.0)
        print(time.process_time() - before)
    """)
    result = pipegauge("run", "-o", "out", "--timeline-hz", "5000", "prog.py")
    assert result.returncode == 0, result.stderr
    timeline = profile_of(workdir / "out").timeline()
    # THEN at most 4096 samples are kept, merged pairwise (stride doubled)
    count = len(timeline["t_ns"])
    assert count <= 4096 and timeline["stride"] >= 2, (count, timeline["stride"])
    # AND lengths are equal (stride periods) but for the last
    step = timeline["interval_ns"] * timeline["stride"]
    lengths = timeline["dt_ns"][:-1]
    assert sorted(lengths)[len(lengths) // 2] == pytest.approx(step, rel=0.5)
    assert sum(timeline["dt_ns"]) >= 4.0e9
    # AND the CPU time summed over the merged samples is the process's CPU
    # time (as the program measured it over most of the run; the kernel
    # counts in 10 ms ticks)
    measured_ns = float(result.stdout.split()[-1]) * 1e9
    cpu = sum(timeline["cpu_user_ns"]) + sum(timeline["cpu_system_ns"])
    assert measured_ns - 30e6 <= cpu <= measured_ns + 400e6, (cpu, measured_ns)


def test_no_timeline_option(pipegauge, write_script, workdir):
    write_script("print('hi')")
    result = pipegauge("run", "-o", "out", "--no-timeline", "prog.py")
    assert result.returncode == 0, result.stderr
    profile = profile_of(workdir / "out")
    assert profile.timeline() is None
    assert profile.meta["gpu"] == "none (timeline off)"
    assert "timeline" not in read_profile(workdir / "out" / "profile.pgprof")
    view = pipegauge("view", "out", "--timeline")
    assert "resource timeline: none (the run had --no-timeline)" in view.stdout


@pytest.mark.parametrize("value", ["0", "-5", "abc", "20000"])
def test_bad_timeline_rate_is_one_error_line(pipegauge, write_script, value):
    write_script("print('hi')")
    result = pipegauge("run", "--timeline-hz", value, "prog.py")
    assert_one_error_line(result, 2)
    assert "--timeline-hz" in result.stderr


def test_api_rejects_bad_rate():
    import pipegauge

    with pytest.raises(ValueError, match="timeline_hz"):
        with pipegauge.profile(timeline_hz=0):
            pass


def test_io_rate_counts_the_program_not_the_sampler(pipegauge, write_script, workdir):
    # GIVEN a program that writes 20 MB to a file in the middle of its run
    write_script("""
        import os, time
        time.sleep(0.4)
        with open("blob", "wb") as f:
            f.write(os.urandom(20 << 20))
        time.sleep(0.4)
    """)
    assert pipegauge("run", "-o", "out", "--timeline-hz", "100", "prog.py").returncode == 0
    timeline = profile_of(workdir / "out").timeline()
    # THEN the write shows (~20 MB) and the quiet parts show (almost) nothing,
    # although the sampler itself reads /proc 100 times a second
    written = sum(timeline["write_chars"])
    assert 20 << 20 <= written <= (20 << 20) + 64 * 1024, written
    quiet = [r for t, r in zip(timeline["t_ns"], timeline["read_chars"]) if t > 0.15e9 and t < 0.3e9]
    assert quiet and sum(quiet) < 4096, quiet


def test_json_export_has_the_timeline(pipegauge, write_script, workdir):
    write_script(ALLOCATE_AND_FREE)
    assert pipegauge("run", "-o", "out", "prog.py").returncode == 0
    result = pipegauge("export", "out", "--format", "json", "-o", "out.json")
    assert result.returncode == 0, result.stderr
    document = json.loads((workdir / "out.json").read_text())
    timeline = document["timeline"]
    # THEN the columns are the documented ones, of equal length
    from test_cli_export import documented_keys

    assert set(timeline) == documented_keys("timeline")
    lengths = {len(v) for k, v in timeline.items() if isinstance(v, list) and k != "gpus"}
    assert len(lengths) == 1
    assert max(timeline["rss_bytes"]) - min(timeline["rss_bytes"]) >= 190 * MIB


def test_python_reader_agrees_with_the_binding(pipegauge, write_script, workdir):
    write_script(ALLOCATE_AND_FREE)
    assert pipegauge("run", "-o", "out", "prog.py").returncode == 0
    path = workdir / "out" / "profile.pgprof"
    columns_c = _core.Profile.read(str(path)).timeline()
    pure = read_profile(path)["timeline"]
    assert [s["t_ns"] for s in pure["samples"]] == columns_c["t_ns"]
    assert [s["rss_bytes"] for s in pure["samples"]] == columns_c["rss_bytes"]
    assert pure["interval_ns"] == columns_c["interval_ns"]


def test_forked_child_does_not_inherit_a_dead_sampler(pipegauge, write_script, workdir):
    # GIVEN a profiled program that forks while the sampler runs
    write_script("""
        import os, time
        def work():
            return sum(range(100000))
        time.sleep(0.2)
        pid = os.fork()
        if pid == 0:
            work()
            time.sleep(0.1)
            os._exit(0 if work() else 1)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        time.sleep(0.2)
    """)
    # WHEN it runs, THEN the child ends cleanly and the parent's run has its timeline
    result = pipegauge("run", "-o", "out", "prog.py", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "child 0" in result.stdout
    timeline = profile_of(workdir / "out").timeline()
    assert sum(timeline["dt_ns"]) >= 0.35e9


def test_forked_child_can_stop_its_copy(write_script, python):
    # GIVEN pipegauge.start() in a parent that forks; the child stops the
    # copied session itself (the at-fork hook already detached it)
    write_script("""
        import os, sys, time, pipegauge
        from pipegauge import _core
        _core.start(timeline_hz=100.0)
        time.sleep(0.1)
        pid = os.fork()
        if pid == 0:
            profile = _core.stop()          # no sampler thread here: must not hang
            ok = profile.timeline() is None and profile.meta["gpu"] == "none (forked child)"
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        time.sleep(0.1)
        profile = _core.stop()
        print("child", os.waitstatus_to_exitcode(status), len(profile.timeline()["t_ns"]) >= 15)
    """)
    result = python("prog.py", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["child", "0", "True"]


def test_sparkline_helpers():
    # Levels keep their maximum when squeezed; rates are averaged.
    values = [0.0] * 99 + [10.0]
    assert max(columns(values, 10, True)) == 10.0
    assert max(columns(values, 10, False)) == pytest.approx(1.0)
    assert columns([1.0, 2.0], 50, True) == [1.0, 2.0]
    assert sparkline([0.0, 5.0, 10.0]) == "▁▄█"  # ▄: half height
    assert sparkline([0.0, 0.0]) == "▁▁"


class _FakeCuda:
    def __init__(self, initialised: bool) -> None:
        self.initialised = initialised

    def is_initialized(self) -> bool:
        return self.initialised

    def current_device(self) -> int:
        return 0

    def memory_allocated(self, device: int) -> int:
        return 1000 + device

    def max_memory_allocated(self, device: int) -> int:
        return 5000 + device


class _FakeTorch:
    def __init__(self, initialised: bool) -> None:
        self.cuda = _FakeCuda(initialised)


def test_torch_memory(monkeypatch):
    # GIVEN no torch imported THEN nothing (and torch is not imported for it)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert torch_memory() is None
    assert "torch" not in sys.modules
    # GIVEN torch without CUDA initialised THEN nothing
    monkeypatch.setitem(sys.modules, "torch", _FakeTorch(False))
    assert torch_memory() is None
    # GIVEN torch with CUDA THEN allocated and peak bytes of the current device
    monkeypatch.setitem(sys.modules, "torch", _FakeTorch(True))
    assert torch_memory() == {"device": 0, "allocated_bytes": 1000, "max_allocated_bytes": 5000}


def test_torch_memory_recorded_in_run_metadata(write_script, python, workdir):
    write_script("""
        import sys, types, pipegauge
        cuda = types.SimpleNamespace(is_initialized=lambda: True, current_device=lambda: 0,
                                     memory_allocated=lambda d: 111, max_memory_allocated=lambda d: 222)
        sys.modules["torch"] = types.SimpleNamespace(cuda=cuda)
        with pipegauge.profile(output_dir="out") as run:
            sum(range(1000))
        print(run.profile.meta["torch_cuda"])
    """)
    result = python("prog.py")
    assert result.returncode == 0, result.stderr
    recorded = json.loads(result.stdout.strip().splitlines()[-1])
    assert recorded["start"]["allocated_bytes"] == 111
    assert recorded["end"]["max_allocated_bytes"] == 222


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_sampler_thread_is_joined_at_stop():
    # GIVEN a started and stopped recording THEN no extra OS thread is left
    def threads() -> int:
        return len(os.listdir("/proc/self/task"))

    before = threads()
    _core.start(timeline_hz=200.0)
    during = threads()
    profile = _core.stop()
    assert during == before + 1
    assert threads() == before
    assert len(profile.timeline()["t_ns"]) >= 1


def test_snapshot_carries_the_timeline_so_far():
    # GIVEN a running recording WHEN a snapshot is taken (the periodic flush)
    import time

    _core.start(timeline_hz=100.0)
    try:
        time.sleep(0.3)
        snapshot = _core.snapshot()
    finally:
        final = _core.stop()
    # THEN it holds the samples so far, and the final profile holds more
    taken = snapshot.timeline()
    assert taken is not None and sum(taken["dt_ns"]) >= 0.2e9
    assert snapshot.meta["gpu"].startswith("none (")
    assert sum(final.timeline()["dt_ns"]) >= sum(taken["dt_ns"])


def test_sampler_thread_blocks_every_signal():
    # GIVEN a running recording THEN the sampler thread (the one thread not
    # there before) blocks all signals, so the program's signals never land there
    before = set(os.listdir("/proc/self/task"))
    _core.start(timeline_hz=20.0)
    try:
        added = set(os.listdir("/proc/self/task")) - before
        assert len(added) == 1
        status = open(f"/proc/self/task/{added.pop()}/status").read()
        blocked = int(re.search(r"^SigBlk:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
        unblockable = {9, 19}  # SIGKILL, SIGSTOP
        assert all(blocked >> (n - 1) & 1 for n in range(1, 32) if n not in unblockable), hex(blocked)
    finally:
        _core.stop()


def test_chrome_trace_has_timeline_counters(pipegauge, write_script, workdir):
    # GIVEN the 200 MB run WHEN exported as a Chrome trace
    write_script(ALLOCATE_AND_FREE)
    assert pipegauge("run", "-o", "out", "prog.py").returncode == 0
    result = pipegauge("export", "out", "--format", "chrome", "-o", "trace.json")
    assert result.returncode == 0, result.stderr
    events = json.loads((workdir / "trace.json").read_text())["traceEvents"]
    timeline = profile_of(workdir / "out").timeline()
    # THEN one counter event per sample and resource, at the samples' times
    counters = [e for e in events if e["ph"] == "C"]
    rss = [e for e in counters if e["name"] == "RSS"]
    assert len(rss) == len(timeline["t_ns"])
    assert {e["name"] for e in counters} == {"RSS", "CPU", "I/O", "threads"}
    assert [round(e["ts"] * 1000) for e in rss] == timeline["t_ns"]
    assert max(e["args"]["bytes"] for e in rss) == max(timeline["rss_bytes"])
    # AND the call tree's complete events are still there
    assert any(e["ph"] == "X" for e in events)
