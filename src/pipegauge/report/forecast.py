"""forecast.html: the scaling forecast as one self-contained page.

It reuses the report's template, stylesheet and escaping (``embed_json``)
with its own script (``forecast.js``: log-log points, fitted curve,
interval band and target marker per function and metric, in SVG). No
network, no build step.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._files import write_atomic
from .._forecast import Forecast
from . import render_page

__all__ = ["render_forecast_page"]


def render_forecast_html(forecast: Forecast) -> str:
    return render_page("forecast.js", ("report.css", "forecast.css"), forecast.to_json(),
                       f"pipegauge: forecast for n={forecast.target:g}", "scaling forecast")


def render_forecast_page(forecast: Forecast, path: str | os.PathLike[str]) -> Path:
    """Write the page to path (atomically); returns path."""
    target = Path(path)
    write_atomic(target, render_forecast_html(forecast))
    return target
