"""Bad input: one clear line on stderr, a non-zero status, never a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import assert_one_error_line

USAGE = 2
FAILURE = 1


@pytest.fixture
def good_run(pipegauge, write_script) -> Path:
    write_script("def f():\n    pass\nf()\n", "good.py")
    result = pipegauge("run", "good.py")
    assert result.returncode == 0, result.stderr
    return result.only_run_dir()


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        ((), USAGE, "required"),
        (("frobnicate",), USAGE, "invalid choice"),
        (("run",), USAGE, "give a script"),
        (("run", "missing.py"), USAGE, "missing.py"),
        (("run", "--bogus", "x.py"), USAGE, "--bogus"),
        (("run", "-m", "no_such_module_xyz"), USAGE, "no_such_module_xyz"),
        (("run", "-m"), USAGE, "-m"),
        (("run", "-o"), USAGE, "-o"),
        (("view",), USAGE, "RUN"),
        (("view", "no-such-run"), USAGE, "no-such-run"),
        (("view", "latest"), USAGE, "no runs"),
        (("export", "latest", "--format", "pstats"), USAGE, "-o"),
        (("export", "latest", "--format", "xml", "-o", "f"), USAGE, "xml"),
    ],
)
def test_usage_errors(pipegauge, args, status, says):
    # GIVEN an empty directory / WHEN the command is wrong
    result = pipegauge(*args)
    # THEN one line, the expected status, and a hint of what was wrong
    line = assert_one_error_line(result, status)
    assert says in line


def test_package_without_main(pipegauge, write_script):
    write_script("", "lib/__init__.py")
    line = assert_one_error_line(pipegauge("run", "-m", "lib"), USAGE)
    assert "package" in line


def test_bad_view_options(pipegauge, good_run):
    line = assert_one_error_line(pipegauge("view", str(good_run), "--sort", "bogus"), USAGE)
    assert "bogus" in line and "tottime" in line
    assert_one_error_line(pipegauge("view", str(good_run), "--limit", "-3"), USAGE)
    assert_one_error_line(pipegauge("view", str(good_run), "--limit", "many"), USAGE)
    assert_one_error_line(pipegauge("view", str(good_run), "--tree", "--min-percent", "300"), USAGE)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a profile at all",
        b"\x00" * 64,
        b"PGPROF" + b"\xff" * 200,
    ],
    ids=["empty", "text", "zeros", "garbage-after-magic"],
)
def test_not_a_profile(pipegauge, workdir, content):
    # GIVEN a file that is not a profile
    (workdir / "bad.pgprof").write_bytes(content)
    # WHEN viewed and exported
    for args in (("view", "bad.pgprof"), ("export", "bad.pgprof", "--format", "json", "-o", "x.json")):
        # THEN one line naming the file, status 1
        line = assert_one_error_line(pipegauge(*args), FAILURE)
        assert "bad.pgprof" in line


def test_truncated_and_corrupted_profiles(pipegauge, good_run, workdir):
    # GIVEN a real profile cut short at many lengths, and one with flipped bytes
    data = (good_run / "profile.pgprof").read_bytes()
    assert len(data) > 16
    cuts = sorted({1, 4, 8, 12, len(data) // 4, len(data) // 2, len(data) - 8, len(data) - 1})
    for cut in cuts:
        (workdir / "cut.pgprof").write_bytes(data[:cut])
        # WHEN viewed / THEN one clear line, status 1, never a traceback or a crash
        result = pipegauge("view", "cut.pgprof")
        assert_one_error_line(result, FAILURE)
    flipped = bytearray(data)
    for position in range(len(flipped) // 3, len(flipped), max(len(flipped) // 10, 1)):
        flipped[position] ^= 0xFF
    (workdir / "flipped.pgprof").write_bytes(bytes(flipped))
    result = pipegauge("view", "flipped.pgprof")
    # a flip may land in a timing value and still be a valid profile; never a crash
    assert result.returncode in (0, FAILURE)
    assert "Traceback" not in result.stderr
    if result.returncode:
        assert_one_error_line(result, FAILURE)


def test_run_directory_without_profile(pipegauge, workdir):
    (workdir / "empty-run").mkdir()
    line = assert_one_error_line(pipegauge("view", "empty-run"), USAGE)
    assert "profile.pgprof" in line


def test_unwritable_output_dir(pipegauge, write_script, workdir):
    # GIVEN an output path below a regular file (unwritable even for root)
    write_script("print('should not run')\n")
    (workdir / "afile").write_text("x")
    # WHEN asked to write the run there
    result = pipegauge("run", "-o", "afile/run", "prog.py")
    # THEN one line, status 1, and the program did not run
    line = assert_one_error_line(result, FAILURE)
    assert "afile/run" in line
    assert "should not run" not in result.stdout


def test_unwritable_export_target(pipegauge, good_run, workdir):
    (workdir / "afile").write_text("x")
    line = assert_one_error_line(
        pipegauge("export", str(good_run), "--format", "pstats", "-o", "afile/out.pstats"), FAILURE)
    assert "afile/out.pstats" in line
    assert_one_error_line(pipegauge("export", str(good_run), "--format", "json", "-o", str(workdir)), FAILURE)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_profile(pipegauge, good_run, workdir):
    target = workdir / "locked.pgprof"
    shutil.copy(good_run / "profile.pgprof", target)
    target.chmod(0)
    try:
        assert_one_error_line(pipegauge("view", str(target)), FAILURE)
    finally:
        target.chmod(0o644)


def test_help_is_not_an_error(pipegauge):
    for args in (("--help",), ("run", "--help"), ("view", "--help"), ("export", "--help"), ("--version",)):
        result = pipegauge(*args)
        assert result.returncode == 0, args
        assert result.stdout
