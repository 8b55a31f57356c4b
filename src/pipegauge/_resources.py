"""Resource figures read from Python libraries the program uses (the C
sampler covers the process and NVML; see src/runtime/pg_sampler.h).

``torch_memory()`` is cheap and never imports torch itself: it reports only
when the program has imported torch and initialised CUDA. Stages call it
at their boundaries; a recording calls it at start and stop.
"""

from __future__ import annotations

import sys
from typing import Any


def torch_memory() -> dict[str, int] | None:
    """CUDA memory of torch's caching allocator on the current device:
    ``{"device", "allocated_bytes", "max_allocated_bytes"}``; None when torch
    is not imported, CUDA is not initialised, or torch fails."""
    torch: Any = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        cuda = torch.cuda
        if not cuda.is_initialized():
            return None
        device = int(cuda.current_device())
        return {
            "device": device,
            "allocated_bytes": int(cuda.memory_allocated(device)),
            "max_allocated_bytes": int(cuda.max_memory_allocated(device)),
        }
    except Exception:  # noqa: BLE001 - a profiler probe must never fail the program
        return None
