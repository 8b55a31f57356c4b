"""Run directories: .pipegauge/runs/<YYYYmmdd-HHMMSS>-<name>/ and what goes in them."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._files import write_atomic
from ._errors import FAILURE_EXIT, USAGE_EXIT, PipegaugeError

if TYPE_CHECKING:
    from ._run import Run

RUNS_SUBDIR = Path(".pipegauge") / "runs"
PROFILE_FILE = "profile.pgprof"  # the binary profile (docs/format.md)
SUMMARY_FILE = "summary.json"  # digest for scripts (docs/summary-json.md)
LOG_FILE = "pipegauge.log"  # what the profiler did
REPORT_FILE = "report.html"  # the self-contained HTML report
_MAX_NAME = 60


def safe_name(name: str) -> str:
    """A run name usable in a directory name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned[:_MAX_NAME] or "run"


def runs_root(base: Path | None = None) -> Path:
    return (base if base is not None else Path.cwd()) / RUNS_SUBDIR


def ensure_writable_dir(directory: Path) -> None:
    """Create directory and prove a file can be written there (os.access is
    no proof: it says yes to root on a read-only file system)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".pipegauge-probe-", dir=directory)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PipegaugeError(f"cannot write to output directory {str(directory)!r}: {reason}",
                             FAILURE_EXIT) from None


def new_run_dir(name: str, started: float, base: Path | None = None) -> Path:
    """Create a fresh run directory named after the start time and run name,
    with -2, -3, ... appended when one of that name exists."""
    root = runs_root(base)
    root.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S", time.localtime(started)) + "-" + safe_name(name)
    for attempt in range(1, 10_000):
        candidate = root / (stem if attempt == 1 else f"{stem}-{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise PipegaugeError(f"too many runs named {stem!r} in {str(root)!r}")


def _write_report(run: Run, directory: Path) -> None:
    """report.html; a failure here is logged, never raised: the profile and
    summary are already on disk and must not be lost over a report."""
    try:
        from .report import render  # local: the report imports _run, which imports this module

        render(run, directory / REPORT_FILE)
    except Exception as exc:  # noqa: BLE001 - the report is optional, the profile is not
        run.log.warning(f"report.html not written: {type(exc).__name__}: {exc}")
    else:
        run.log.info(f"wrote {directory / REPORT_FILE}")


def write_run_dir(run: Run, directory: Path) -> Path:
    """Write profile.pgprof, summary.json, report.html and pipegauge.log into
    directory (the profile first: nothing after it can lose it)."""
    directory.mkdir(parents=True, exist_ok=True)
    profile = run.profile
    if profile is None:
        raise RuntimeError("pipegauge: the run has not finished yet")
    profile_path = directory / PROFILE_FILE
    profile.write(os.fspath(profile_path))
    run.log.info(f"wrote {profile_path}")
    write_atomic(directory / SUMMARY_FILE, json.dumps(run.summary(), indent=2) + "\n")
    run.log.info(f"wrote {directory / SUMMARY_FILE}")
    _write_report(run, directory)
    write_atomic(directory / LOG_FILE, run.log.text())
    return directory


def _profile_mtime(directory: Path) -> float:
    try:
        return (directory / PROFILE_FILE).stat().st_mtime_ns
    except OSError:
        return -1


def latest_run_dir(base: Path | None = None) -> Path | None:
    """The run directory whose profile was written last, or None."""
    root = runs_root(base)
    try:
        candidates = [entry for entry in root.iterdir() if (entry / PROFILE_FILE).is_file()]
    except OSError:
        return None
    if not candidates:
        return None
    return max(candidates, key=lambda entry: (_profile_mtime(entry), entry.name))


def resolve_profile_path(spec: str, base: Path | None = None) -> Path:
    """The profile file RUN names: a run directory, a profile file, a run
    name under .pipegauge/runs, or 'latest'."""
    if spec == "latest":
        latest = latest_run_dir(base)
        if latest is None:
            raise PipegaugeError(f"no runs found under {str(runs_root(base))!r}", USAGE_EXIT)
        return latest / PROFILE_FILE
    for candidate in (Path(spec), runs_root(base) / spec):
        if candidate.is_dir():
            profile = candidate / PROFILE_FILE
            if profile.is_file():
                return profile
            raise PipegaugeError(f"{spec!r} is a directory without {PROFILE_FILE}", USAGE_EXIT)
        if candidate.is_file():
            return candidate
    raise PipegaugeError(f"no such run or profile file: {spec!r}", USAGE_EXIT)
