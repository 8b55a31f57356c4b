"""IPython/Jupyter magics: ``%load_ext pipegauge``, then

    %pipegauge statement                      profile one statement (returns the Run)
    %%pipegauge [-o DIR] [--name N] [...]     profile the cell

Each shows the HTML report inline (in an iframe, so its script and styles
stay apart from the notebook's) and, for plain-text front ends such as the
terminal IPython, the top functions as text. The latest Run is also kept in
the user namespace as ``_pipegauge_run``. Options as for ``pipegauge run``
(``--no-builtins``, ``--include-stdlib``, ``--ignore PATTERN``); settings
from configuration files and PIPEGAUGE_* apply as everywhere.
"""

from __future__ import annotations

import html
import os
import shlex
from typing import Any

from ._api import ProfileBlock
from ._config import build_options
from ._run import Run
from .renderers.summary import render_summary

IFRAME_HEIGHT = 640


class ReportDisplay:
    """What a magic displays: the report in an iframe (text/html) and the
    summary (text/plain)."""

    def __init__(self, run: Run, page: str, summary: str) -> None:
        self.run = run
        self._page = page
        self._summary = summary

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self._page, quote=True)}" '
                f'style="width:100%;height:{IFRAME_HEIGHT}px;border:1px solid #ddd" '
                'sandbox="allow-scripts"></iframe>')

    def __repr__(self) -> str:
        return self._summary


def parse_options(line: str) -> dict[str, Any]:
    """The cell magic's options: -o/--output-dir DIR, --name N, --ignore
    PATTERN (repeatable), --no-builtins, --include-stdlib."""
    tokens = shlex.split(line)
    options: dict[str, Any] = {}
    ignore: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in ("-o", "--output-dir", "--name", "--ignore"):
            if index + 1 >= len(tokens):
                raise ValueError(f"%%pipegauge: {token} needs a value")
            value = tokens[index + 1]
            if token == "--ignore":
                ignore.append(value)
            else:
                options["name" if token == "--name" else "output_dir"] = value
            index += 2
        elif token == "--no-builtins":
            options["builtins"] = False
            index += 1
        elif token == "--include-stdlib":
            options["include_stdlib"] = True
            index += 1
        else:
            raise ValueError(f"%%pipegauge: unknown option {token!r}")
    if ignore:
        options["ignore_modules"] = ignore
    return options


def profile_code(shell: Any, code: str, options: dict[str, Any], *, name: str) -> Run:
    """Run code in the user's namespace under a profile block."""
    opts, _ = build_options({"name": options.pop("name", name), **options}, explicit_source="magic")
    block = ProfileBlock(opts, default_name=name)
    compiled = compile(code, f"<pipegauge-{name}>", "exec")
    with block as run:
        exec(compiled, shell.user_ns)  # noqa: S102 - the user's own cell, as IPython would run it
    return run


def _show(shell: Any, run: Run) -> ReportDisplay:
    from IPython.display import display

    from .report import report_html

    shell.user_ns["_pipegauge_run"] = run
    summary = render_summary(run, target=run.name, cwd=os.getcwd())
    shown = ReportDisplay(run, report_html(run), summary.rstrip("\n"))
    display(shown)
    return shown


def load_ipython_extension(shell: Any) -> None:
    def line_magic(line: str) -> Run:
        if not line.strip():
            raise ValueError("usage: %pipegauge statement")
        run = profile_code(shell, line, {}, name="line")
        _show(shell, run)
        return run

    def cell_magic(line: str, cell: str) -> None:
        run = profile_code(shell, cell, parse_options(line), name="cell")
        _show(shell, run)

    shell.register_magic_function(line_magic, magic_kind="line", magic_name="pipegauge")
    shell.register_magic_function(cell_magic, magic_kind="cell", magic_name="pipegauge")
