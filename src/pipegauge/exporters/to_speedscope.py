"""Export as speedscope: speedscope's file format: one sampled profile in
nanoseconds, one sample per call path weighted by its exclusive time.

Written by the C engine (src/engine/pg_export_speedscope.c), streaming and
atomically; the layout is described in docs/exports.md.
"""

from __future__ import annotations

import os

from .. import _core

FORMAT = "speedscope"


def export_speedscope(profile: _core.Profile, path: str | os.PathLike[str], *, correct: bool) -> None:
    """Write profile to path. OSError when the file cannot be written."""
    _core.export(profile, FORMAT, os.fspath(path), correct=correct)
