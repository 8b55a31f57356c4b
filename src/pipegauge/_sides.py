"""What the RUN arguments of ``diff``/``check``/``baseline`` name, as a side
of a comparison: a history run id (``12`` or ``#12``), ``latest``,
``baseline`` (the program's baseline), a run directory or profile file.
A run recorded as part of a ``run --repeat N`` group stands for its whole
group. A profile that is not in the history is read from its file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from ._diff import Side
from ._errors import USAGE_EXIT, PipegaugeError
from ._history import History, HistoryError, RunRecord, default_path, runs_with_group
from ._history_record import run_record
from ._rundir import resolve_profile_path

HISTORY_CLUSTER_RUNS = 60
"""How many earlier runs of a program are read to learn its noise."""


class Resolver:
    """Resolves RUN arguments against one (optional) history."""

    def __init__(self, history_path: str | None, *, readonly: bool = True) -> None:
        path = Path(history_path) if history_path else default_path()
        self.history: History | None = None
        if path.is_file():
            self.history = History(path, create=False, readonly=readonly)
        elif history_path:
            raise PipegaugeError(f"no history at {history_path!r}", USAGE_EXIT)

    def close(self) -> None:
        if self.history is not None:
            self.history.close()

    def require_history(self) -> History:
        if self.history is None:
            raise PipegaugeError(f"no history at {str(default_path())!r} (runs are recorded by "
                                 "'pipegauge run')", USAGE_EXIT)
        return self.history

    def _side(self, label: str, run: RunRecord) -> Side:
        runs = runs_with_group(self.history, run) if self.history is not None else [run]
        if len(runs) > 1:
            label = f"{label} (group of {len(runs)} runs)"
        return Side(label, runs)

    def run_by_id(self, run_id: int, spec: str) -> RunRecord:
        run = self.require_history().run(run_id)
        if run is None:
            raise PipegaugeError(f"no run #{run_id} in the history", USAGE_EXIT)
        return run

    def latest(self, program: str | None = None) -> RunRecord:
        runs = self.require_history().runs(program=program, limit=1)
        if not runs:
            where = f" of {program!r}" if program else ""
            raise PipegaugeError(f"no runs{where} in the history", USAGE_EXIT)
        return self.run_by_id(runs[0].id, "latest")

    def baseline(self, program: str) -> RunRecord:
        run_id = self.require_history().baseline(program)
        if run_id is None:
            raise PipegaugeError(f"no baseline set for {program!r} "
                                 "(set one with 'pipegauge baseline set RUN')", USAGE_EXIT)
        return self.run_by_id(run_id, "baseline")

    def run(self, spec: str, *, program: str | None = None) -> RunRecord:
        """The run spec names; program scopes 'latest' and 'baseline'."""
        if spec == "latest":
            if self.history is None:
                return self._from_file(spec)
            return self.latest(program)
        if spec == "baseline":
            return self.baseline(program or self.latest().program)
        match = re.fullmatch(r"#?(\d+)", spec)
        if match and not os.path.exists(spec):
            return self.run_by_id(int(match[1]), spec)
        return self._from_file(spec)

    def _from_file(self, spec: str) -> RunRecord:
        path = resolve_profile_path(spec)
        if self.history is not None:
            recorded = self.history.run_by_profile(os.path.abspath(path))
            if recorded is not None:
                return recorded
        from .cli._common import load_run  # local: the CLI helpers import the run model

        return run_record(load_run(os.fspath(path)), path)

    def side(self, spec: str, *, program: str | None = None) -> Side:
        return self._side(spec if not re.fullmatch(r"\d+", spec) else f"#{spec}",
                          self.run(spec, program=program))

    def clusters(self, program: str, exclude: Sequence[Side]) -> list[list[RunRecord]]:
        """Earlier runs of program as clusters of runs of the same code:
        one cluster per group, and one per clean git commit."""
        if self.history is None:
            return []
        excluded = {run.id for side in exclude for run in side.runs}
        try:
            runs = self.history.runs(program=program, limit=HISTORY_CLUSTER_RUNS)
        except HistoryError:
            return []
        clusters: dict[str, list[int]] = {}
        for run in runs:
            if run.id in excluded:
                continue
            if run.group_id:
                clusters.setdefault(f"group {run.group_id}", []).append(run.id)
            elif run.git_commit and run.git_dirty is False:
                clusters.setdefault(f"commit {run.git_commit}", []).append(run.id)
        history = self.history
        loaded = []
        for ids in clusters.values():
            if len(ids) >= 2:
                loaded.append([record for record in (history.run(run_id) for run_id in ids)
                               if record is not None])
        return loaded


def profile_spec(spec: str, history_path: str | None) -> str:
    """spec for the commands that read one profile (view, export, report):
    a history run id ('12' or '#12') becomes its profile's path; anything
    else is returned as is."""
    match = re.fullmatch(r"#?(\d+)", spec)
    if not match or os.path.exists(spec):
        return spec
    path = Path(history_path) if history_path else default_path()
    if not path.is_file():
        return spec
    with History(path, create=False, readonly=True) as history:
        run = history.run(int(match[1]))
    if run is None:
        raise PipegaugeError(f"no run #{match[1]} in the history", USAGE_EXIT)
    if not run.profile_path or not os.path.isfile(run.profile_path):
        raise PipegaugeError(f"the profile of run #{run.id} is gone ({run.profile_path}); "
                             "diff and check still work from the history", USAGE_EXIT)
    return run.profile_path
