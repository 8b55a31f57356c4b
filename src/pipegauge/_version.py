"""The installed pipegauge version."""

from __future__ import annotations

from importlib import metadata

try:
    __version__: str = metadata.version("pipegauge")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"
