"""Writing files so a reader never sees a half-written one."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write data to a temporary file beside path, then rename it over path;
    the temporary file is removed when anything fails."""
    temporary = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8")
        else:
            temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
