"""Per-node metrics in the native Profile: read from a file with an RMET
section, compared with the pure-Python reader, aggregated by merge rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipegauge import _core, _format

SAMPLE = Path(__file__).resolve().parent.parent / "fuzz" / "corpus" / "sample-3.pgprof"
U64 = 1 << 64


def _expected(profile: _format.Profile, index: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Node and function (exclusive, inclusive) computed in Python from the oracle."""
    metric = profile["metrics"][index]
    nodes = profile["nodes"]
    combine = (lambda a, b: max(a, b)) if metric["merge"] else (lambda a, b: (a + b) % U64)
    own = [metric["values"].get(i, 0) for i in range(len(nodes))]
    inclusive = list(own)
    for i in range(len(nodes) - 1, 0, -1):
        parent = nodes[i]["parent"]
        inclusive[parent] = combine(inclusive[parent], inclusive[i])
    funcs = [[0, 0] for _ in profile["functions"]]
    for i in range(1, len(nodes)):
        func = nodes[i]["func"]
        ancestors, walk = set(), nodes[i]["parent"]
        while walk:
            ancestors.add(nodes[walk]["func"])
            walk = nodes[walk]["parent"]
        funcs[func][0] = combine(funcs[func][0], own[i])
        if func not in ancestors:
            funcs[func][1] = combine(funcs[func][1], inclusive[i])
    return list(zip(own, inclusive)), [tuple(f) for f in funcs]  # type: ignore[misc]


def test_metrics_read_and_aggregated_like_the_oracle() -> None:
    # GIVEN a profile file with three metrics (a SUM, a MAX, an empty one)
    oracle = _format.read_profile(SAMPLE)
    # WHEN the C reader loads it
    profile = _core.Profile.read(str(SAMPLE))
    # THEN names, units and rules match, and every value matches the oracle
    assert profile.metrics() == [
        ("mem.alloc_bytes", "bytes", "sum"),
        ("mem.peak_bytes", "bytes", "max"),
        ("io.read_ops", "count", "sum"),
    ]
    for index in range(3):
        nodes, funcs = _expected(oracle, index)
        assert profile.node_metric(index) == nodes
        assert profile.function_metric(index) == funcs
    assert all(pair == (0, 0) for pair in profile.function_metric(2))


def test_metrics_survive_write_and_prune(tmp_path: Path) -> None:
    # GIVEN the sample profile
    profile = _core.Profile.read(str(SAMPLE))
    # WHEN it is written again and pruned to its root's children
    path = tmp_path / "again.pgprof"
    profile.write(str(path))
    again = _core.Profile.read(str(path))
    pruned = _core.prune(again, max_nodes=1)
    # THEN the values survive, and prune keeps every subtree total
    assert again.node_metric(0) == profile.node_metric(0)
    assert pruned.metrics() == profile.metrics()
    for index in range(3):
        assert pruned.node_metric(index)[0][1] == profile.node_metric(index)[0][1]


def test_bad_metric_index_raises() -> None:
    profile = _core.Profile.read(str(SAMPLE))
    with pytest.raises(IndexError):
        profile.function_metric(3)
    with pytest.raises(IndexError):
        profile.node_metric(99)


def _by_name(profile: _core.Profile, metric: str) -> dict[str, tuple[int, int]]:
    index = [m[0] for m in profile.metrics()].index(metric)
    names = [f[0] for f in profile.functions()]
    return {names[i]: pair for i, pair in enumerate(profile.function_metric(index))}


def test_frame_accumulators_charge_the_running_function() -> None:
    import threading

    slot = _core._ACC_SLOTS["io.read_ops"]

    def leaf() -> None:
        _core._acc_add(slot, 7)

    def outer() -> None:
        _core._acc_add(slot, 5)
        leaf()
        leaf()

    def in_thread() -> None:
        _core._acc_add(slot, 1000)

    # GIVEN a session recording io.read_ops (builtins off: the hook itself
    # is a builtin and would otherwise be the running function)
    _core.start(builtins=False)
    try:
        _core._acc_enable(1 << slot)
        # WHEN functions add to the accumulator, also in another thread and at depth 0
        outer()
        worker = threading.Thread(target=in_thread)
        worker.start()
        worker.join()
        _core._acc_add(slot, 3)
    finally:
        profile = _core.stop()
    # THEN each function gets its own additions, inclusive adds callees
    values = _by_name(profile, "io.read_ops")
    leaf_name = next(n for n in values if n.endswith("leaf"))
    outer_name = next(n for n in values if n.endswith("outer"))
    thread_name = next(n for n in values if n.endswith("in_thread"))
    assert values[leaf_name] == (14, 14)
    assert values[outer_name] == (5, 19)
    assert values[thread_name] == (1000, 1000)
    # the depth-0 addition of this thread (its test function began before
    # start, so it has no frame) went to the root, which sums everything
    index = [m[0] for m in profile.metrics()].index("io.read_ops")
    root_own, root_total = profile.node_metric(index)[0]
    assert (root_own, root_total) == (3, 3 + 5 + 14 + 1000)
    # AND after stop the hook is ignored
    _core._acc_add(slot, 1)
