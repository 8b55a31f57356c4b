"""Export as folded: collapsed stacks for flamegraph.pl, inferno and Pyroscope:
one line per call path, 'frame;frame;frame <exclusive ns>'.

Written by the C engine (src/engine/pg_export_folded.c), streaming and
atomically; the layout is described in docs/exports.md.
"""

from __future__ import annotations

import os

from .. import _core

FORMAT = "folded"


def export_folded(profile: _core.Profile, path: str | os.PathLike[str], *, correct: bool) -> None:
    """Write profile to path. OSError when the file cannot be written."""
    _core.export(profile, FORMAT, os.fspath(path), correct=correct)
