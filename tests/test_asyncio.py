"""asyncio: awaiting is never charged as a coroutine's own time; the async
view's per-task lifetimes split into running and awaiting; TaskGroup and
run_in_executor thread pools."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipegauge import Run

SLEEPERS = """\
import asyncio


async def sleeper(i):
    await asyncio.sleep(0.05)
    return i


async def main():
    return sum(await asyncio.gather(*(sleeper(i) for i in range(100))))


print(asyncio.run(main()))
"""


def test_hundred_sleeping_tasks_are_not_five_seconds_of_self_time(pipegauge, write_script,
                                                                  workdir: Path) -> None:
    # GIVEN 100 concurrent tasks that each await asyncio.sleep(0.05)
    write_script(SLEEPERS, "sleepers.py")
    result = pipegauge("run", "-o", "out", "sleepers.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sum(range(100)))
    run = Run.load(workdir / "out" / "profile.pgprof")
    stats = run.stats()
    # THEN no function has anything near 5 s of self time, and all self
    # times together fit in the run's wall time (one thread)
    assert max(item.self_time for item in stats) < 1.0, stats[:3]
    assert sum(item.self_time for item in stats) <= run.duration * 1.05 + 0.01
    sleeper = next(item for item in stats if item.name == "sleeper")
    assert sleeper.calls == 200  # start + one resume each, as cProfile counts them
    assert sleeper.total_time < 0.5
    # AND the async view sees 100 tasks that lived >= 50 ms each, awaiting nearly all of it
    tasks = {row["coroutine"]: row for row in run.async_tasks}
    assert tasks["sleeper"]["tasks"] == 100
    assert tasks["sleeper"]["wall"] >= 100 * 0.05
    assert tasks["sleeper"]["max_wall"] >= 0.05
    assert tasks["sleeper"]["awaiting"] >= 0.9 * tasks["sleeper"]["wall"]
    assert tasks["sleeper"]["running"] == pytest.approx(sleeper.total_time, abs=1e-9)
    assert tasks["main"]["tasks"] == 1
    view = pipegauge("view", "out", "--async")
    assert view.returncode == 0, view.stderr
    line = next(text for text in view.stdout.splitlines() if "(sleeper)" in text)
    assert line.split()[0] == "100"


EXECUTOR = """\
import asyncio
import time


def blocking(i):
    time.sleep(0.02)
    return i


async def fetch(loop, i):
    return await loop.run_in_executor(None, blocking, i)


async def main():
    loop = asyncio.get_running_loop()
    return sum(await asyncio.gather(*(fetch(loop, i) for i in range(20))))


print(asyncio.run(main()))
"""


def test_run_in_executor_threads_are_profiled(pipegauge, write_script, workdir: Path) -> None:
    write_script(EXECUTOR, "executor.py")
    result = pipegauge("run", "-o", "out", "executor.py")
    assert result.returncode == 0, result.stderr
    run = Run.load(workdir / "out" / "profile.pgprof")
    by_name = {item.name: item for item in run.stats()}
    # the blocking calls ran in the pool's threads and are counted there
    assert by_name["blocking"].calls == 20
    assert by_name["blocking"].total_time >= 20 * 0.02 * 0.9
    assert int(run.run_info["threads"]) >= 2
    # the coroutine awaiting them is not charged with their time
    assert by_name["fetch"].total_time < 0.1
    tasks = {row["coroutine"]: row for row in run.async_tasks}
    assert tasks["fetch"]["tasks"] == 20
    assert tasks["fetch"]["awaiting"] >= 20 * 0.02 * 0.9


TASKGROUP = """\
import asyncio


async def step(i):
    await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)
    return i


async def main():
    async with asyncio.TaskGroup() as group:
        for i in range(10):
            group.create_task(step(i))


asyncio.run(main())
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11")
def test_taskgroup_tasks(pipegauge, write_script, workdir: Path) -> None:
    write_script(TASKGROUP, "group.py")
    result = pipegauge("run", "-o", "out", "group.py")
    assert result.returncode == 0, result.stderr
    run = Run.load(workdir / "out" / "profile.pgprof")
    step = next(item for item in run.stats() if item.name == "step")
    assert step.calls == 30  # start and two resumes per task
    tasks = {row["coroutine"]: row for row in run.async_tasks}
    assert tasks["step"]["tasks"] == 10
    assert tasks["step"]["wall"] >= 10 * 0.02
    assert tasks["step"]["running"] < tasks["step"]["wall"] / 2


def test_program_task_factory_is_kept(pipegauge, write_script, workdir: Path) -> None:
    # A task factory the program sets replaces ours: its tasks run as the program wants.
    write_script("""\
        import asyncio

        made = []


        async def job():
            return 1


        async def main():
            loop = asyncio.get_running_loop()
            loop.set_task_factory(lambda loop, coro, **kw: made.append(1) or asyncio.Task(coro, loop=loop, **kw))
            await asyncio.gather(job(), job())
            print(len(made))


        asyncio.run(main())
    """, "factory.py")
    result = pipegauge("run", "-o", "out", "factory.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
