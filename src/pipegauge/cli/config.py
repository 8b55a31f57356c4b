"""``pipegauge config``: the settings in effect here and where each came from."""

from __future__ import annotations

import argparse
import sys

from .._config import SETTINGS, format_value, report_warnings, resolve

NAME = "config"
HELP = "show the effective settings and where each came from"
DESCRIPTION = """\
Print every setting pipegauge recognises, its value in this directory and
its source: the command line, a PIPEGAUGE_<KEY> environment variable, the
configuration file, or the default. The file is --config PATH, else the first
of .pipegauge.toml, .pipegauge.yaml (with PyYAML) and pyproject.toml
[tool.pipegauge] in this directory or a parent, up to the repository root
(at most 6 directories). Settings marked "pending" are recognised and
checked; they take effect when the feature named lands."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help="read this file instead of the discovered one")


def execute(args: argparse.Namespace) -> int:
    effective = resolve(config=args.config)
    report_warnings(effective)
    where = str(effective.file) if effective.file is not None else "none found"
    lines = [f"configuration file: {where}"]
    width = max(len(setting.key) for setting in SETTINGS)
    values = {setting.key: format_value(effective.values[setting.key]) for setting in SETTINGS}
    value_width = min(max(len(text) for text in values.values()), 40)
    for setting in SETTINGS:
        source = effective.sources[setting.key]
        note = f"  (pending: {setting.pending})" if setting.pending else ""
        lines.append(f"{setting.key:<{width}}  {values[setting.key]:<{value_width}}  {source}{note}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
