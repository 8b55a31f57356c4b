"""Export as pprof: gzipped pprof profile.proto (go tool pprof, Pyroscope,
Grafana): sample types wall/nanoseconds, calls/count, alloc_space/bytes.

Written by the C engine (src/engine/pg_export_pprof.c), streaming and
atomically; the layout is described in docs/exports.md.
"""

from __future__ import annotations

import os

from .. import _core

FORMAT = "pprof"


def export_pprof(profile: _core.Profile, path: str | os.PathLike[str], *, correct: bool) -> None:
    """Write profile to path. OSError when the file cannot be written."""
    _core.export(profile, FORMAT, os.fspath(path), correct=correct)
