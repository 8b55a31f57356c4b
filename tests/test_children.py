"""Child processes: multiprocessing workers (fork, spawn, forkserver),
ProcessPoolExecutor, --subprocess children; their profiles merged into the
parent's run with a process table; a worker killed by SIGKILL."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from pipegauge import Run
from conftest import function_calls

POOL = """\
import sys
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor


def leaf(x):
    return x * 2


def work(n):
    return sum(leaf(i) for i in range(n))


def main(method):
    with ProcessPoolExecutor(4, mp_context=mp.get_context(method)) as pool:
        results = list(pool.map(work, [100] * 40, chunksize=2))
    print(sum(results))


if __name__ == "__main__":
    main(sys.argv[1])
"""


def processes_dir(run_dir: Path) -> Path:
    return run_dir / "processes"


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_process_pool_workers_merge_into_one_run(pipegauge, write_script, workdir: Path,
                                                 method: str) -> None:
    # GIVEN a pipeline that maps work() over 40 items in a pool of 4 workers
    write_script(POOL, "pool.py")
    # WHEN it runs under pipegauge
    result = pipegauge("run", "-o", "out", "pool.py", method)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(40 * sum(2 * i for i in range(100)))
    assert "processes merged (0 lost, 0 still running)" in result.stderr
    run_dir = workdir / "out"
    run = Run.load(run_dir / "profile.pgprof")
    # THEN the run lists the parent and every worker, all finished
    processes = run.processes
    assert processes[0]["role"] == "main" and processes[0]["pid"] != 0
    workers = processes[1:]
    assert 1 <= len(workers) <= 4, processes
    assert {entry["role"] for entry in workers} == {f"worker ({method})"}
    assert {entry["state"] for entry in processes} == {"finished"}
    assert all(entry["parent_pid"] == processes[0]["pid"] for entry in workers)
    # AND each process's own profile is kept, and the merged call counts are
    # exactly the sums over the processes, function by function
    merged = Counter(function_calls(run_dir))
    per_process = [Counter(function_calls(processes_dir(run_dir) / f"{entry['pid']}.pgprof"))
                   for entry in processes]
    assert sorted(path.stem for path in processes_dir(run_dir).glob("*.pgprof")) == \
        sorted(str(entry["pid"]) for entry in processes)
    assert merged == sum(per_process, Counter())
    worker_total = sum(per_process[1:], Counter())
    assert worker_total["leaf"] == merged["leaf"] == 4000
    assert worker_total["work"] == merged["work"] == 40
    assert per_process[0]["leaf"] == 0  # the parent never ran it
    # AND the pure-Python reader sees the same process table as the C one
    from pipegauge import _format

    python_view = _format.read_profile(run_dir / "profile.pgprof")["processes"]
    assert [(entry["pid"], entry["role"], entry["calls"]) for entry in python_view] == \
        [(entry["pid"], entry["role"], entry["calls"]) for entry in processes]
    # AND the log and summary say so
    log = (run_dir / "pipegauge.log").read_text(encoding="utf-8")
    assert f"merged {len(workers)} child processes: {len(workers)} finished, 0 lost" in log
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert [entry["pid"] for entry in summary["processes"]] == [entry["pid"] for entry in processes]


def test_view_processes_and_pid(pipegauge, write_script, workdir: Path) -> None:
    write_script(POOL, "pool.py")
    assert pipegauge("run", "-o", "out", "pool.py", "fork").returncode == 0
    run = Run.load(workdir / "out" / "profile.pgprof")
    listing = pipegauge("view", "out", "--processes")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["pid", "parent", "role", "state", "wall", "busy", "calls"]
    assert len(lines) == 1 + len(run.processes)
    assert lines[1].split()[:3] == [str(run.processes[0]["pid"]), str(run.processes[0]["parent_pid"]), "main"]
    assert all("worker (fork)" in line and "finished" in line for line in lines[2:])
    # one worker alone
    worker = max(run.processes[1:], key=lambda entry: entry["calls"])
    alone = pipegauge("view", "out", "--pid", str(worker["pid"]), "--limit", "0")
    assert alone.returncode == 0, alone.stderr
    assert "pool.py:6(leaf)" in alone.stdout and "ended: worker exit" in alone.stdout
    missing = pipegauge("view", "out", "--pid", "1")
    assert missing.returncode == 2
    assert missing.stderr.startswith("pipegauge: error: no process 1 in 'out' (processes: ")


KILLED = """\
import multiprocessing as mp
import os
import signal
import sys
import time


def spin(ready):
    ready.set()
    while True:
        tick()


def tick():
    time.sleep(0.001)


def finish():
    return sum(range(1000))


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    ready = ctx.Event()
    doomed = ctx.Process(target=spin, args=(ready,), name="doomed")
    good = ctx.Process(target=finish, name="good")
    doomed.start()
    good.start()
    assert ready.wait(60)
    time.sleep(0.8)  # several flushes at 0.1 s
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join()
    good.join()
    print("doomed", doomed.pid, doomed.exitcode, "good", good.pid, good.exitcode)
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_killed_by_sigkill_is_marked_lost(pipegauge, write_script, workdir: Path,
                                                  method: str) -> None:
    # GIVEN a parent whose worker is killed by SIGKILL while it works
    write_script(KILLED, "killed.py")
    result = pipegauge("run", "-o", "out", "killed.py", method, env={"PIPEGAUGE_FLUSH_INTERVAL": "0.1"},
                       timeout=90)
    # THEN the parent ends normally, with a complete profile
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    doomed_pid, doomed_exit, good_pid = int(words[1]), int(words[2]), int(words[4])
    assert doomed_exit == -9
    run = Run.load(workdir / "out" / "profile.pgprof")
    assert run.end_reason == "returned"
    states = {entry["pid"]: (entry["state"], entry["role"]) for entry in run.processes}
    # AND the killed worker is marked lost, the other finished
    assert states[doomed_pid] == ("lost", f"worker ({method})")
    assert states[good_pid] == ("finished", f"worker ({method})")
    # AND the lost worker's data up to its last flush is in the merged run
    calls = function_calls(workdir / "out")
    assert calls["tick"] > 50, calls
    assert calls["finish"] == 1
    assert f"child process {doomed_pid} (worker ({method})) was lost" in result.stderr
    assert "1 lost" in (workdir / "out" / "pipegauge.log").read_text(encoding="utf-8")
    header = pipegauge("view", "out", "--limit", "1").stdout
    assert "2 processes merged into main pid" in header and "(1 lost)" in header
    assert "1 lost process (killed?)" in header


POOL_LEFT_OPEN = """\
import multiprocessing as mp


def square(x):
    return x * x


if __name__ == "__main__":
    pool = mp.get_context("fork").Pool(2)  # never closed: its workers are daemons
    print(sum(pool.map(square, range(100))))
"""


def test_pool_left_open_does_not_hang_and_workers_are_merged(pipegauge, write_script,
                                                             workdir: Path) -> None:
    write_script(POOL_LEFT_OPEN, "open_pool.py")
    result = pipegauge("run", "-o", "out", "open_pool.py", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sum(x * x for x in range(100)))
    run = Run.load(workdir / "out" / "profile.pgprof")
    assert len(run.processes) == 3
    assert function_calls(workdir / "out")["square"] == 100
    assert {entry["state"] for entry in run.processes} == {"finished"}


SUBPROCESS = """\
import subprocess
import sys


def parent_step():
    return 1


parent_step()
subprocess.run([sys.executable, "child.py"], check=True)
"""

CHILD = """\
def child_step(i):
    return i


for i in range(25):
    child_step(i)
"""


def test_subprocess_children_only_with_the_option(pipegauge, write_script, workdir: Path) -> None:
    write_script(SUBPROCESS, "parent.py")
    write_script(CHILD, "child.py")
    # WITHOUT --subprocess the child is not profiled
    plain = pipegauge("run", "-o", "plain", "parent.py")
    assert plain.returncode == 0, plain.stderr
    assert Run.load(workdir / "plain" / "profile.pgprof").processes == []
    assert "child_step" not in function_calls(workdir / "plain")
    # WITH it, the child's profile is merged
    result = pipegauge("run", "--subprocess", "-o", "out", "parent.py")
    assert result.returncode == 0, result.stderr
    run = Run.load(workdir / "out" / "profile.pgprof")
    assert [(entry["role"], entry["state"]) for entry in run.processes] == \
        [("main", "finished"), ("subprocess", "finished")]
    calls = function_calls(workdir / "out")
    assert calls["child_step"] == 25 and calls["parent_step"] == 1
    # AND the environment hooks are gone from the parent afterwards
    assert "PIPEGAUGE_CHILD_DIR" not in os.environ


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_api_start_stop_profiles_workers(write_script, python, workdir: Path, method: str) -> None:
    write_script(POOL.replace('    main(sys.argv[1])',
                              '    import pipegauge\n'
                              '    pipegauge.start(output_dir="api-out")\n'
                              '    main(sys.argv[1])\n'
                              '    pipegauge.stop()\n'
                              '    from concurrent.futures import ProcessPoolExecutor\n'
                              '    import multiprocessing as mp\n'
                              '    ctx = mp.get_context(sys.argv[1])\n'
                              '    with ProcessPoolExecutor(2, mp_context=ctx) as pool:  # after stop\n'
                              '        pool.submit(work, 5).result()\n'), "api_pool.py")
    result = python("api_pool.py", method)
    assert result.returncode == 0, result.stderr
    run = Run.load(workdir / "api-out" / "profile.pgprof")
    assert len(run.processes) >= 2
    assert {entry["state"] for entry in run.processes} == {"finished"}
    assert function_calls(workdir / "api-out")["leaf"] == 4000
    # workers started after stop() (by the same fork server) do not profile themselves
    written = sorted(path.stem for path in (workdir / "api-out" / "processes").glob("*.pgprof"))
    assert written == sorted(str(entry["pid"]) for entry in run.processes)
