"""Sampling mode in the presentation layer: what a sampling-mode profile's
metadata says about its sampler (the C side writes the keys at stop)."""

from __future__ import annotations

from typing import Any


def sampling_info(meta: dict[str, str]) -> dict[str, Any] | None:
    """A sampling-mode run's sampler settings and counters; None for a
    deterministic run."""
    if meta.get("mode") != "sample":
        return None

    def count(key: str) -> int:
        try:
            return int(meta.get(key, "0"))
        except ValueError:
            return 0

    try:
        hz: float | None = float(meta.get("sample_hz", ""))
    except ValueError:
        hz = None
    return {"hz": hz, "clock": meta.get("sample_clock"), "samples_taken": count("samples_taken"),
            "samples_lost": count("samples_lost")}
