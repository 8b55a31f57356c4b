"""Shared fixtures: write a program into a temporary directory and run
``python -m pipegauge ...`` on it in a real subprocess, with this interpreter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]  # the pytest plugin's own tests (test_pytest_plugin.py)

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PIPELINE = REPO / "examples" / "pipeline.py"
TIMEOUT_S = 120


@dataclass
class Result:
    """A finished pipegauge process."""

    returncode: int
    stdout: str
    stderr: str
    cwd: Path

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def run_dirs(self) -> list[Path]:
        """Run directories under .pipegauge/runs in cwd, oldest first."""
        root = self.cwd / ".pipegauge" / "runs"
        if not root.is_dir():
            return []
        return sorted((entry for entry in root.iterdir() if entry.is_dir()),
                      key=lambda entry: entry.stat().st_mtime_ns)

    def only_run_dir(self) -> Path:
        dirs = self.run_dirs()
        assert len(dirs) == 1, f"expected one run directory, found {dirs}\nstderr:\n{self.stderr}"
        return dirs[0]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PIPEGAUGE_DEBUG", None)
    env.pop("NO_COLOR", None)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def pipegauge_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipegauge", *args]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh current directory for the child (runs land in .pipegauge/ here)."""
    return tmp_path


@pytest.fixture
def write_script(workdir: Path) -> Callable[..., Path]:
    """write_script(source, name="prog.py") -> path of the dedented script."""

    def write(source: str, name: str = "prog.py") -> Path:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    return write


@pytest.fixture
def pipegauge(workdir: Path) -> Callable[..., Result]:
    """pipegauge(*args, cwd=workdir, env=None, timeout=...) -> Result."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = TIMEOUT_S) -> Result:
        directory = cwd or workdir
        completed = subprocess.run(
            pipegauge_command(*args), cwd=directory, env=child_env(env),
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr, directory)

    return run


@pytest.fixture
def python(workdir: Path) -> Callable[..., Result]:
    """python(script, *args) -> Result: the program without pipegauge's CLI."""

    def run(*args: str, cwd: Path | None = None, timeout: float = TIMEOUT_S) -> Result:
        directory = cwd or workdir
        completed = subprocess.run(
            [sys.executable, *args], cwd=directory, env=child_env(),
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr, directory)

    return run


class Running:
    """A pipegauge child that prints READY once it is inside its workload."""

    def __init__(self, command: Sequence[str], cwd: Path) -> None:
        self.cwd = cwd
        self.process = subprocess.Popen(
            list(command), cwd=cwd, env=child_env(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.strip() == "READY" or not line:
                break
        assert line.strip() == "READY", f"child never got ready: {line!r}, stderr: {self.finish()[1]}"
        time.sleep(0.3)  # let it get a few calls deep into its loop

    def send(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def finish(self, timeout: float = 60.0) -> tuple[str, str]:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            raise AssertionError(f"child did not end: stderr {err}") from None
        return out, err

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def result(self) -> Result:
        out, err = self.finish()
        assert self.process.returncode is not None
        return Result(self.process.returncode, out, err, self.cwd)


@pytest.fixture
def start_child(workdir: Path) -> Callable[..., Running]:
    """start_child(*argv) -> Running: pipegauge CLI args, or ["python", script] for API tests."""
    children: list[Running] = []

    def start(*args: str, plain_python: bool = False) -> Running:
        command = [sys.executable, *args] if plain_python else pipegauge_command(*args)
        child = Running(command, workdir)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
            child.process.communicate()


def load_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def function_calls(run_dir_or_file: Path) -> dict[str, int]:
    """{qualified name: calls} for Python functions, {label: calls} for builtins,
    read back through the public API."""
    import pipegauge

    path = run_dir_or_file / "profile.pgprof" if run_dir_or_file.is_dir() else run_dir_or_file
    run = pipegauge.Run.load(path)
    calls: dict[str, int] = {}
    for stats in run.stats():
        key = stats.name if stats.kind == "python" else stats.label
        calls[key] = calls.get(key, 0) + stats.calls
    return calls


def assert_one_error_line(result: Result, exit_code: int | None = None) -> str:
    """THEN one 'pipegauge: error: ...' line on stderr, no traceback, non-zero exit."""
    assert result.returncode != 0, result
    if exit_code is not None:
        assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr_lines
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("pipegauge: error: "), lines[0]
    return lines[0]
