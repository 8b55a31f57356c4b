"""Export as chrome: Chrome trace-event JSON for Perfetto and chrome://tracing:
the call tree as nested complete events (an aggregated layout, not a
chronological trace).

Written by the C engine (src/engine/pg_export_chrome.c), streaming and
atomically; the layout is described in docs/exports.md.
"""

from __future__ import annotations

import os

from .. import _core

FORMAT = "chrome"


def export_chrome(profile: _core.Profile, path: str | os.PathLike[str], *, correct: bool) -> None:
    """Write profile to path. OSError when the file cannot be written."""
    _core.export(profile, FORMAT, os.fspath(path), correct=correct)
