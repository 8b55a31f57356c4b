"""The profile written by C through `pipegauge run`, read back by the
pure-Python reader (the test oracle) and by the C reader: same content."""

from __future__ import annotations

import pytest

import pipegauge

format_reader = pytest.importorskip("pipegauge._format")

WORKLOAD = """
    import threading

    class Counter:
        def __init__(self):
            self.total = 0
        def add(self, n):
            self.total += n

    def numbers(n):
        for i in range(n):
            yield i

    def walk(depth):
        return 0 if depth == 0 else 1 + walk(depth - 1)

    def risky(i):
        if i % 3 == 0:
            raise ValueError(i)
        return i

    def main():
        counter = Counter()
        for value in numbers(50):
            counter.add(value)
        walk(12)
        for i in range(9):
            try:
                risky(i)
            except ValueError:
                pass
        threads = [threading.Thread(target=walk, args=(5,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    main()
"""


def test_c_writer_matches_python_reader(pipegauge_cli, write_script):
    # GIVEN a run of a program with generators, recursion, exceptions and threads
    write_script(WORKLOAD)
    result = pipegauge_cli("run", "prog.py")
    assert result.returncode == 0, result.stderr
    path = result.only_run_dir() / "profile.pgprof"
    # WHEN read by the pure-Python reader and by the C reader
    oracle = format_reader.read_profile(path)
    run = pipegauge.Run.load(path)
    profile = run.profile
    assert profile is not None
    # THEN the metadata is the same
    assert oracle["meta"] == profile.meta
    assert oracle["meta"]["name"] == "prog"
    # AND the function table is the same, in the same order
    records = profile.functions(False)
    assert [(f["name"], f["file"], f["line"], f["kind"]) for f in oracle["functions"]] == \
        [(r[0], r[1], r[2], r[3]) for r in records]
    # AND per-function call counts (summed over the oracle's call tree) agree
    calls = [0] * len(oracle["functions"])
    exceptions = [0] * len(oracle["functions"])
    for node in oracle["nodes"][1:]:
        calls[node["func"]] += node["calls"]
        exceptions[node["func"]] += node["exc_exits"]
    assert calls == [int(r[4]) for r in records]
    assert exceptions == [int(r[6]) for r in records]
    # AND the histograms hold one value per call
    assert [f["hist"]["count"] for f in oracle["functions"]] == [int(r[9]) for r in records]
    # AND the counts are the program's
    by_name = {f["name"].rsplit(".", 1)[-1]: calls[i] for i, f in enumerate(oracle["functions"])
               if f["kind"] == 0}
    assert by_name["add"] == 50
    assert by_name["numbers"] == 51  # 50 resumes that yield, and the last that returns
    assert by_name["walk"] == 13 + 2 * 6
    assert by_name["risky"] == 9
    # AND the run numbers agree
    for key in ("events", "duration_ns", "threads", "lost_events", "unmatched_events"):
        assert oracle["run"][key] == int(profile.run[key]), key


def test_both_readers_reject_the_same_corrupt_file(pipegauge_cli, write_script, workdir):
    write_script("def f():\n    pass\nf()\n")
    result = pipegauge_cli("run", "prog.py")
    data = (result.only_run_dir() / "profile.pgprof").read_bytes()
    for cut in (0, 7, 16, len(data) // 2, len(data) - 1):
        target = workdir / f"cut{cut}.pgprof"
        target.write_bytes(data[:cut])
        with pytest.raises(format_reader.ProfileFormatError):
            format_reader.read_profile(target)
        with pytest.raises(pipegauge.FormatError):
            pipegauge.Run.load(target)


@pytest.fixture
def pipegauge_cli(pipegauge):
    return pipegauge
