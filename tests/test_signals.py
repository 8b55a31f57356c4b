"""Signals: a program interrupted by SIGINT or SIGTERM still leaves a readable
profile, and the way it ended (signal or exit status) is preserved."""

from __future__ import annotations

import signal

import pytest

from conftest import function_calls, load_summary

LONG_RUNNING = """
    import time
    def tick():
        time.sleep(0.01)
    def loop():
        print("READY", flush=True)
        while True:
            tick()
    loop()
"""

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="POSIX signals")


def test_sigterm_writes_profile_and_dies_by_sigterm(start_child, write_script):
    # GIVEN a long-running program under `pipegauge run`
    write_script(LONG_RUNNING)
    child = start_child("run", "prog.py")
    child.wait_ready()
    # WHEN it receives SIGTERM
    child.send(signal.SIGTERM)
    result = child.result()
    # THEN it still ends "killed by SIGTERM"
    assert result.returncode == -signal.SIGTERM, result.stderr
    # AND its profile is complete and readable
    run_dir = result.only_run_dir()
    calls = function_calls(run_dir)
    assert calls["tick"] >= 5
    assert load_summary(run_dir)["end_reason"] == "SIGTERM"
    assert "run saved to" in result.stderr


def test_sigint_writes_profile_and_dies_by_sigint(start_child, write_script):
    # GIVEN a long-running program under `pipegauge run`
    write_script(LONG_RUNNING)
    child = start_child("run", "prog.py")
    child.wait_ready()
    # WHEN it receives SIGINT (Ctrl-C)
    child.send(signal.SIGINT)
    result = child.result()
    # THEN, as CPython does, the KeyboardInterrupt traceback is printed and the
    # process ends by SIGINT
    assert result.returncode == -signal.SIGINT, result.stderr
    assert "KeyboardInterrupt" in result.stderr
    # AND the profile was written
    run_dir = result.only_run_dir()
    assert function_calls(run_dir)["tick"] >= 5
    assert load_summary(run_dir)["end_reason"] == "KeyboardInterrupt"


def test_programs_own_sigterm_handler_is_called(start_child, write_script):
    # GIVEN a program with its own SIGTERM handler that exits with status 7
    write_script("""
        import signal, sys, time
        def on_term(signum, frame):
            print("handler called", flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, on_term)
        def tick():
            time.sleep(0.01)
        print("READY", flush=True)
        while True:
            tick()
    """)
    child = start_child("run", "prog.py")
    child.wait_ready()
    # WHEN it receives SIGTERM
    child.send(signal.SIGTERM)
    result = child.result()
    # THEN its handler ran and its exit status is kept
    assert "handler called" in result.stdout
    assert result.returncode == 7, result.stderr
    # AND the profile is there
    assert function_calls(result.only_run_dir())["on_term"] == 1


def test_api_start_chains_to_handler_installed_before(start_child, write_script, workdir):
    # GIVEN a program that installs a SIGTERM handler, then calls pipegauge.start()
    write_script("""
        import signal, sys, time
        import pipegauge
        def on_term(signum, frame):
            print("handler called", flush=True)
            sys.exit(5)
        signal.signal(signal.SIGTERM, on_term)
        pipegauge.start(output_dir="out")
        def tick():
            time.sleep(0.01)
        print("READY", flush=True)
        while True:
            tick()
    """)
    child = start_child("prog.py", plain_python=True)
    child.wait_ready()
    # WHEN it receives SIGTERM
    child.send(signal.SIGTERM)
    result = child.result()
    # THEN its handler was called, its status kept, and the profile written at exit
    assert "handler called" in result.stdout
    assert result.returncode == 5, result.stderr
    assert function_calls(workdir / "out")["tick"] >= 5


# A program that profiles itself with pipegauge.start() and loops until a
# signal ends it.
SELF_PROFILING_LOOP = """
    import time
    import pipegauge
    pipegauge.start(output_dir="out")
    def tick():
        time.sleep(0.01)
    print("READY", flush=True)
    while True:
        tick()
"""


def test_api_start_sigterm_default(start_child, write_script, workdir):
    # GIVEN a program profiling itself with pipegauge.start() and no handler of its own
    write_script(SELF_PROFILING_LOOP)
    child = start_child("prog.py", plain_python=True)
    child.wait_ready()
    # WHEN it receives SIGTERM
    child.send(signal.SIGTERM)
    result = child.result()
    # THEN the profile is written and the process still dies by SIGTERM
    assert result.returncode == -signal.SIGTERM, result.stderr
    assert function_calls(workdir / "out")["tick"] >= 5
    assert load_summary(workdir / "out")["end_reason"] == "SIGTERM"


def test_api_start_keyboard_interrupt(start_child, write_script, workdir):
    # GIVEN a program profiling itself with pipegauge.start()
    write_script(SELF_PROFILING_LOOP)
    child = start_child("prog.py", plain_python=True)
    child.wait_ready()
    # WHEN it receives SIGINT
    child.send(signal.SIGINT)
    result = child.result()
    # THEN CPython's usual ending (traceback, killed by SIGINT) and a written profile
    assert result.returncode == -signal.SIGINT, result.stderr
    assert "KeyboardInterrupt" in result.stderr
    assert function_calls(workdir / "out")["tick"] >= 5


def test_sigkill_leaves_the_last_periodic_snapshot(workdir, write_script):
    # GIVEN a long run that flushes its profile every 0.2 s
    import subprocess
    import time

    from conftest import child_env, pipegauge_command

    write_script(LONG_RUNNING)
    process = subprocess.Popen(pipegauge_command("run", "-o", "out", "prog.py"), cwd=workdir,
                               env=child_env({"PIPEGAUGE_FLUSH_INTERVAL": "0.2"}),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "READY"
        deadline = time.monotonic() + 30
        while not (workdir / "out" / "profile.pgprof").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        # WHEN it is killed without a chance to clean up
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    # THEN a readable profile of the run so far is there
    calls = function_calls(workdir / "out")
    assert calls["tick"] >= 5
    assert load_summary(workdir / "out")["end_reason"] == "running"
