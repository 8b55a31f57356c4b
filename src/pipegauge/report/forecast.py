"""forecast.html: the scaling forecast as one self-contained page.

It reuses the report's template, stylesheet and escaping (``embed_json``)
with its own script (``forecast.js``: log-log points, fitted curve,
interval band and target marker per function and metric, in SVG). No
network, no build step.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .._files import write_atomic
from .._forecast import Forecast
from . import _PLACEHOLDER, _asset, _escape_html, embed_json

__all__ = ["render_forecast_page"]


def render_forecast_html(forecast: Forecast) -> str:
    script = _asset("forecast.js")
    style = _asset("report.css") + "\n" + _asset("forecast.css")
    if re.search(r"</script|<!--", script, re.IGNORECASE) or "</style" in style.lower():
        raise RuntimeError("forecast assets must not contain </script>, <!-- or </style>")
    title = _escape_html(f"pipegauge: forecast for n={forecast.target:g}")
    parts = {"css": style, "js": script, "data": embed_json(forecast.to_json()), "title": title}
    template = _asset("template.html").replace(">profile report<", ">scaling forecast<")
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], template)


def render_forecast_page(forecast: Forecast, path: str | os.PathLike[str]) -> Path:
    """Write the page to path (atomically); returns path."""
    target = Path(path)
    write_atomic(target, render_forecast_html(forecast))
    return target
