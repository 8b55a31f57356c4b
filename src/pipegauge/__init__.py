"""pipegauge: a low-overhead profiler for Python data pipelines (C engine).

Public API: ``start``/``stop`` for a whole process, ``profile`` as a decorator
or context manager, and the ``Run``/``FunctionStats`` results.
"""

from ._api import ProfileBlock, profile
from ._core import FormatError, ProfilerBusyError
from ._run import Overhead, Run
from ._scale_param import scale_param
from ._session import start, stop
from ._stages import stage
from ._stats import SORT_KEYS, FunctionStats
from ._version import __version__


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext pipegauge``: the %pipegauge and %%pipegauge magics."""
    from ._magics import load_ipython_extension as load

    load(ipython)


__all__ = [
    "SORT_KEYS",
    "FormatError",
    "FunctionStats",
    "Overhead",
    "ProfileBlock",
    "ProfilerBusyError",
    "Run",
    "__version__",
    "load_ipython_extension",
    "profile",
    "scale_param",
    "stage",
    "start",
    "stop",
]
