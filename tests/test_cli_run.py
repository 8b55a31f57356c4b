"""`pipegauge run`: the program runs as under python, and its run is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import child_env, function_calls, load_summary

PROGRAM_REPORTS_ITSELF = """
    import json, os, sys
    def work(n):
        return sum(i * i for i in range(n))
    work(1000)
    print(json.dumps({"argv": sys.argv, "name": __name__, "path0": sys.path[0],
                      "file": __file__, "main_is_me": sys.modules["__main__"].__dict__ is globals()}))
"""


def test_program_sees_its_own_argv_name_and_path(pipegauge, write_script, workdir):
    # GIVEN a script in a subdirectory that prints what it sees
    script = write_script(PROGRAM_REPORTS_ITSELF, "sub/prog.py")
    # WHEN it runs under pipegauge with options of its own, some looking like ours
    result = pipegauge("run", "--name", "mine", "sub/prog.py", "-o", "x", "--name", "theirs", "--", "--ignore")
    # THEN it sees exactly its own argv, __name__ == "__main__" and sys.path[0] = its directory
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["argv"] == ["sub/prog.py", "-o", "x", "--name", "theirs", "--", "--ignore"]
    assert seen["name"] == "__main__"
    assert os.path.realpath(seen["path0"]) == os.path.realpath(script.parent)
    assert os.path.realpath(seen["file"]) == os.path.realpath(script)
    assert seen["main_is_me"] is True
    # AND the run is named by --name and records the program's argv
    run_dir = result.only_run_dir()
    assert run_dir.name.endswith("-mine")
    summary = load_summary(run_dir)
    assert summary["meta"]["argv"] == seen["argv"]
    assert summary["name"] == "mine"


def test_same_view_as_plain_python(pipegauge, python, write_script):
    # GIVEN a script
    write_script(PROGRAM_REPORTS_ITSELF)
    # WHEN run by python and by pipegauge
    plain = python("prog.py", "a", "b")
    profiled = pipegauge("run", "prog.py", "a", "b")
    # THEN it sees the same argv, __name__, sys.path[0] and __file__
    assert json.loads(plain.stdout) == json.loads(profiled.stdout)


def test_run_directory_contents(pipegauge, write_script):
    # GIVEN a script with a hot function
    write_script("""
        def hot(n):
            return sum(range(n))
        for _ in range(50):
            hot(10_000)
    """)
    # WHEN it runs
    result = pipegauge("run", "prog.py")
    # THEN one run directory holds the profile, summary.json, the report and the log
    assert result.returncode == 0, result.stderr
    run_dir = result.only_run_dir()
    assert {"profile.pgprof", "summary.json", "report.html", "pipegauge.log"} <= {
        p.name for p in run_dir.iterdir()}
    # AND the counts are exact
    calls = function_calls(run_dir)
    assert calls["hot"] == 50
    assert calls["{built-in method builtins.sum}"] == 50
    # AND the summary has the documented sections
    summary = load_summary(run_dir)
    assert summary["schema"] == "pipegauge.summary" and summary["version"] == 1
    assert summary["end_reason"] == "returned"
    assert summary["run"]["duration_s"] > 0
    assert summary["run"]["events"] > 0
    assert any(item["name"] == "hot" and item["calls"] == 50 for item in summary["top_functions"])
    for key in ("argv", "cwd", "python", "implementation", "executable", "start_time", "duration",
                "pid", "host", "pipegauge_version", "options", "backend", "name"):
        assert key in summary["meta"], key
    # AND the log says what the profiler did
    log = (run_dir / "pipegauge.log").read_text()
    assert "backend" in log and "ns per event" in log and "overhead estimate" in log
    # AND the stderr summary names the top function and where the run went
    assert "prog.py" in result.stderr and "hot" in result.stderr
    assert str(run_dir.name) in result.stderr


def test_exit_code_is_preserved(pipegauge, write_script):
    # GIVEN a script that calls sys.exit(3) from a function
    write_script("""
        import sys
        def finish():
            sys.exit(3)
        finish()
    """)
    # WHEN it runs under pipegauge
    result = pipegauge("run", "prog.py")
    # THEN the exit status is 3 and the profile is still written
    assert result.returncode == 3, result.stderr
    calls = function_calls(result.only_run_dir())
    assert calls["finish"] == 1
    assert load_summary(result.only_run_dir())["end_reason"] == "sys.exit(3)"


def test_exit_with_message(pipegauge, write_script):
    # GIVEN sys.exit("message"), which python prints and turns into status 1
    write_script("import sys\nsys.exit('bad things happened')\n")
    # WHEN it runs
    result = pipegauge("run", "prog.py")
    # THEN the same as python: the message on stderr and status 1
    assert result.returncode == 1
    assert "bad things happened" in result.stderr


def test_unhandled_exception(pipegauge, python, write_script):
    # GIVEN a script that raises from a nested function
    write_script("""
        def inner():
            raise ValueError("boom")
        def outer():
            inner()
        outer()
    """)
    # WHEN it runs under python and under pipegauge
    plain = python("prog.py")
    result = pipegauge("run", "prog.py")
    # THEN the status is 1 and the traceback is the program's own, as python prints it
    assert result.returncode == 1 == plain.returncode
    traceback_text = result.stderr.split("pipegauge: prog.py")[0]
    assert traceback_text.strip() == plain.stderr.strip()
    assert "pipegauge" not in traceback_text and "runpy" not in traceback_text
    # AND the profile is written with the exception counted
    run_dir = result.only_run_dir()
    stats = {s["name"]: s for s in load_summary(run_dir)["top_functions"]}
    calls = function_calls(run_dir)
    assert calls["inner"] == 1 and calls["outer"] == 1
    assert load_summary(run_dir)["end_reason"] == "unhandled ValueError"
    if "inner" in stats:
        assert stats["inner"]["exceptions"] == 1


def test_syntax_error_in_script(pipegauge, write_script):
    # GIVEN a script with a syntax error
    write_script("def broken(:\n    pass\n")
    # WHEN pipegauge runs it
    result = pipegauge("run", "prog.py")
    # THEN python's own SyntaxError report, status 1, nothing profiled
    assert result.returncode == 1
    assert "SyntaxError" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.run_dirs() == []


def test_run_module(pipegauge, write_script, workdir):
    # GIVEN a package with a module and a __main__
    write_script("", "pkg/__init__.py")
    write_script("""
        import sys, json
        def main():
            print(json.dumps({"argv": sys.argv, "name": __name__}))
            return 4
        if __name__ == "__main__":
            sys.exit(main())
    """, "pkg/tool.py")
    write_script("import sys\nprint('pkg main', sys.argv[1:])\n", "pkg/__main__.py")
    # WHEN run with -m, with arguments of its own
    result = pipegauge("run", "-m", "pkg.tool", "--flag", "-o", "v")
    # THEN python -m semantics: argv[0] is the module's file, __name__ is __main__, status kept
    assert result.returncode == 4, result.stderr
    seen = json.loads(result.stdout.strip())
    assert seen["name"] == "__main__"
    assert os.path.realpath(seen["argv"][0]) == os.path.realpath(workdir / "pkg" / "tool.py")
    assert seen["argv"][1:] == ["--flag", "-o", "v"]
    assert function_calls(result.only_run_dir())["main"] == 1
    assert result.only_run_dir().name.endswith("-pkg.tool")
    # AND a package runs its __main__
    package = pipegauge("run", "-mpkg", "x")
    assert package.returncode == 0, package.stderr
    assert "pkg main ['x']" in package.stdout


def test_output_dir_and_options(pipegauge, write_script, workdir):
    # GIVEN a script using builtins
    write_script("""
        import json
        def encode(n):
            return [len(json.dumps({"i": i})) for i in range(n)]
        encode(100)
    """)
    out = workdir / "custom" / "place"
    # WHEN run with -o, --no-builtins and --no-overhead-correction
    result = pipegauge("run", "-o", str(out), "--no-builtins", "--no-overhead-correction", "prog.py")
    # THEN the run is in DIR, and nothing under .pipegauge
    assert result.returncode == 0, result.stderr
    assert (out / "profile.pgprof").is_file()
    assert result.run_dirs() == []
    calls = function_calls(out)
    assert calls["encode"] == 1
    # AND no builtin was attributed, and json (stdlib) is folded away
    assert not any(name.startswith("{") for name in calls), calls
    assert "dumps" not in calls and "json.dumps" not in calls
    options = load_summary(out)["meta"]["options"]
    assert options["builtins"] is False and options["correct_overhead"] is False
    assert load_summary(out)["run"]["overhead_corrected"] is False


def test_include_stdlib_and_ignore(pipegauge, write_script):
    # GIVEN a program with a helper module
    write_script("def helper(x):\n    return x + 1\n", "helpers.py")
    write_script("""
        import json, helpers
        def main():
            return [helpers.helper(len(json.dumps(i))) for i in range(20)]
        main()
    """)
    # WHEN run with --include-stdlib and --ignore helpers
    result = pipegauge("run", "--include-stdlib", "--ignore", "helpers", "prog.py")
    # THEN stdlib functions appear and the ignored module does not
    assert result.returncode == 0, result.stderr
    calls = function_calls(result.only_run_dir())
    assert calls["main"] == 1
    assert any(name.endswith("dumps") for name in calls), calls
    assert "helper" not in calls


def test_threads_are_profiled_and_joined(pipegauge, write_script):
    # GIVEN a program that leaves non-daemon threads running when its main code ends
    write_script("""
        import threading, time
        def background(i):
            time.sleep(0.05)
        for i in range(3):
            threading.Thread(target=background, args=(i,)).start()
    """)
    # WHEN it runs
    result = pipegauge("run", "prog.py")
    # THEN the threads' calls are in the profile (they finished before it was written)
    assert result.returncode == 0, result.stderr
    assert function_calls(result.only_run_dir())["background"] == 3


def test_runs_get_unique_directories(pipegauge, write_script):
    # GIVEN a script run twice within the same second
    write_script("pass\n")
    # WHEN it runs twice
    first = pipegauge("run", "prog.py")
    second = pipegauge("run", "prog.py")
    # THEN two run directories exist
    assert first.returncode == second.returncode == 0
    assert len(second.run_dirs()) == 2


def test_console_script_entry_point(write_script, workdir):
    # GIVEN the installed `pipegauge` command next to this interpreter
    command = Path(sys.executable).parent / "pipegauge"
    if not command.exists():
        pytest.skip("no console script next to this interpreter")
    write_script("print('hello')\n")
    # WHEN it runs a script
    completed = subprocess.run([str(command), "run", "prog.py"], cwd=workdir, env=child_env(),
                               capture_output=True, text=True, timeout=120, check=False)
    # THEN the script ran and was profiled
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "hello\n"
    assert "run saved to" in completed.stderr
