"""The pytest plugin: --pipegauge, the pipegauge marker's budgets and the
pipegauge_run fixture, run in real pytest subprocesses (pytester)."""

from __future__ import annotations

import re

import pytest

MODULE = '''
import time

def step(x):
    return x + 1

def slow(seconds):
    time.sleep(seconds)

def pipeline(n):
    total = 0
    for i in range(n):
        total += step(i)
    return total
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(workmod=MODULE)
    pytester.syspathinsert()
    return pytester


def test_plugin_is_registered_by_entry_point(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--pipegauge*profile every test*"])
    result = project.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.pipegauge(max_time_ms=None*"])


def test_budgets_pass_when_met(project: pytest.Pytester) -> None:
    project.makepyfile(test_ok='''
        import pytest, workmod

        @pytest.mark.pipegauge(max_time_ms=5000, max_calls={"workmod:step": 100}, max_p95_ms=1000)
        def test_fast():
            assert workmod.pipeline(100) == 5050
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_max_calls_fails_with_budget_value_and_contributors(project: pytest.Pytester) -> None:
    # GIVEN a test that calls step() 150 times under a budget of 100
    project.makepyfile(test_calls='''
        import pytest, workmod

        @pytest.mark.pipegauge(max_calls={"workmod:step": 100})
        def test_too_many():
            workmod.pipeline(150)
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    # THEN it fails, naming the budget, the measured value and the top contributors
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "pipegauge budget max_calls['workmod:step']=100 exceeded: 150 calls" in text
    contributors = text[text.index("top contributors (self time):"):].splitlines()[1:4]
    assert any("150 calls" in line and "workmod.py:" in line and line.endswith("(step)") for line in contributors), text


def test_max_time_and_p95_fail(project: pytest.Pytester) -> None:
    project.makepyfile(test_slow='''
        import pytest, workmod

        @pytest.mark.pipegauge(max_time_ms=50)
        def test_wall():
            workmod.slow(0.2)

        @pytest.mark.pipegauge(max_p95_ms=20)
        def test_latency():
            for _ in range(3):
                workmod.slow(0.06)
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    took = re.search(r"pipegauge budget max_time_ms=50 exceeded: the test took ([0-9.]+) ms", text)
    assert took is not None and float(took.group(1)) >= 200, text
    p95 = re.search(r"pipegauge budget max_p95_ms=20 exceeded: p95 of \S+\(slow\) is ([0-9.]+) ms "
                    r"over 3 calls", text)
    assert p95 is not None and float(p95.group(1)) >= 60 * 0.99, text
    # the test function itself (one call of ~180 ms) is not a contributor to p95
    assert "(test_latency) is" not in result.stdout.str()


def test_failing_test_keeps_its_own_error(project: pytest.Pytester) -> None:
    project.makepyfile(test_err='''
        import pytest

        @pytest.mark.pipegauge(max_time_ms=10000)
        def test_raises():
            raise KeyError("mine")
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'mine'*"])


def test_bad_marker_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile(test_bad='''
        import pytest

        @pytest.mark.pipegauge(max_tme_ms=1)
        def test_x():
            pass
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["test_bad.py::test_x: unknown pipegauge budget 'max_tme_ms' (known: *"])


def test_fixture_exposes_the_runs_stats(project: pytest.Pytester) -> None:
    project.makepyfile(test_fixture='''
        import workmod

        def test_counts(pipegauge_run):
            workmod.pipeline(42)
            assert pipegauge_run.calls("workmod:step") == 42
            workmod.pipeline(8)
            assert pipegauge_run.calls("workmod:step") == 50
            names = [item.name for item in pipegauge_run.stats("calls")]
            assert "step" in names and "pipeline" in names
            assert pipegauge_run.duration > 0
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_pipegauge_option_writes_a_run_per_test_and_lists_slowest(project: pytest.Pytester) -> None:
    project.makepyfile(test_many='''
        import workmod

        def test_a():
            workmod.slow(0.15)

        def test_b():
            workmod.pipeline(10)
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--pipegauge",
                                          "--pipegauge-dir", "pg-runs")
    result.assert_outcomes(passed=2)
    runs = sorted(path.name for path in (project.path / "pg-runs").iterdir())
    assert len(runs) == 2 and any("test-test_a" in name for name in runs), runs
    for name in runs:
        assert (project.path / "pg-runs" / name / "profile.pgprof").is_file()
    text = result.stdout.str()
    section = text[text.index("pipegauge: slowest tests"):]
    lines = [line for line in section.splitlines()[1:] if "test_many.py::" in line]
    assert "test_many.py::test_a" in lines[0] and "test_many.py::test_b" in lines[1], section


def test_pipegauge_merged_writes_one_run_of_all_tests(project: pytest.Pytester) -> None:
    project.makepyfile(test_two='''
        import workmod

        def test_a():
            workmod.pipeline(30)

        def test_b():
            workmod.pipeline(12)
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--pipegauge", "--pipegauge-merged",
                                          "--pipegauge-dir", "pg-runs")
    result.assert_outcomes(passed=2)
    runs = list((project.path / "pg-runs").iterdir())
    assert len(runs) == 1 and runs[0].name.endswith("-pytest"), runs
    from pipegauge import Run

    calls = {item.name: item.calls for item in Run.load(runs[0] / "profile.pgprof").stats()}
    assert calls["step"] == 42 and calls["pipeline"] == 2
    result.stdout.fnmatch_lines(["pipegauge: all tests merged into *pg-runs*"])


def test_max_alloc_mb_fails_naming_the_allocating_function(project: pytest.Pytester) -> None:
    # GIVEN a test whose helper allocates ~40 MB of bytes objects (kept alive)
    # under a 10 MB budget, and one that stays well within it
    project.makepyfile(test_alloc='''
        import pytest

        def hoard():
            kept = []
            for _ in range(40):  # a loop, not a comprehension (its own frame before 3.12)
                kept.append(bytes(1 << 20))
            return kept

        @pytest.mark.pipegauge(max_alloc_mb=10)
        def test_too_much():
            assert len(hoard()) == 40

        @pytest.mark.pipegauge(max_alloc_mb=100)
        def test_within():
            assert len(hoard()) == 40
    ''')
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    # THEN only the first fails, naming the budget, the measured total and the function
    result.assert_outcomes(failed=1, passed=1)
    text = result.stdout.str()
    match = re.search(r"pipegauge budget max_alloc_mb=10 exceeded: the test allocated ([0-9.]+) MB", text)
    assert match, text
    assert 40 <= float(match.group(1)) < 60
    contributors = text[text.index("top contributors (allocated):"):].splitlines()[1:4]
    assert any("hoard" in line for line in contributors), text
