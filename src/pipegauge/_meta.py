"""Run metadata recorded in every profile (argv, interpreter, host, git, ...).

Collection never fails the run: each probe that fails is left out and noted
in the run log.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence

from ._version import __version__

GIT_TIMEOUT_S = 2.0
"""Each git probe gives up after this long (a slow network file system, a hook)."""


def iso_utc(epoch_s: float) -> str:
    """ISO 8601 UTC timestamp with second precision: 2024-05-01T12:34:56Z."""
    moment = _dt.datetime.fromtimestamp(epoch_s, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(directory: str, *args: str) -> str | None:
    """Output of one git command run in directory, or None on any failure."""
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    try:
        completed = subprocess.run(
            ["git", "-C", directory, *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.strip()


@functools.lru_cache(maxsize=8)
def git_info(directory: str) -> dict[str, str]:
    """git_commit, git_branch and git_dirty for directory; {} outside a
    repository. Cached: a decorated function called often must not start git
    each time (do not mutate the result)."""
    info: dict[str, str] = {}
    commit = _git(directory, "rev-parse", "HEAD")
    if not commit:
        return info
    info["git_commit"] = commit
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    if branch:
        info["git_branch"] = branch
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        info["git_dirty"] = "true" if status else "false"
    return info


def collect_start_meta(
    *,
    name: str,
    argv: Sequence[str],
    options_json: str,
    source_dir: str | None,
    warn: Callable[[str], None],
) -> dict[str, str]:
    """Metadata known before profiling starts (git probes run before tracing so
    their cost is not profiled)."""
    meta: dict[str, str] = {}
    probes: list[tuple[str, Callable[[], str]]] = [
        ("name", lambda: name),
        ("argv", lambda: json.dumps(list(argv))),
        ("cwd", os.getcwd),
        ("python", lambda: platform.python_version()),
        ("implementation", lambda: sys.implementation.name),
        ("executable", lambda: sys.executable or ""),
        ("platform", platform.platform),
        ("pid", lambda: str(os.getpid())),
        ("host", socket.gethostname),
        ("pipegauge_version", lambda: __version__),
        ("options", lambda: options_json),
    ]
    for key, probe in probes:
        try:
            meta[key] = probe()
        except Exception as exc:  # noqa: BLE001 - metadata must never fail the run
            warn(f"metadata {key!r} not recorded: {exc}")
    try:
        meta.update(git_info(source_dir or os.getcwd()))
    except Exception as exc:  # noqa: BLE001
        warn(f"git metadata not recorded: {exc}")
    return meta
