"""One recording: start the C tracer with the options' filters, stop it, and
put metadata and the profiler's own counters into the profile and the log.

Shared by whole-process sessions (``pipegauge.start``, ``pipegauge run``)
and ``pipegauge.profile`` blocks; neither writes files here.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import _core, _numpy_hook
from ._meta import collect_start_meta, iso_utc
from ._options import LINES_FROM_SAMPLES, Options, lines_available, tracer_arguments
from ._options import SAMPLE_MODE_OFF, Options, tracer_arguments
from ._resources import torch_memory
from ._rundir import ensure_writable_dir, runs_root
from ._run import Run
from ._runlog import RunLog
from ._scale_param import SIZE_META, recorded_size
from ._units import format_bytes, format_duration_ns, format_percent
from ._version import __version__


def _scale_meta() -> dict[str, str]:
    """scale.n (the run's input size, when it has one) and peak_rss (the
    process's peak resident set so far, bytes) for scaling forecasts."""
    meta: dict[str, str] = {}
    size = recorded_size()
    if size is not None:
        meta[SIZE_META] = size
    try:
        import resource  # POSIX only

        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        if peak_kib > 0:
            meta["peak_rss"] = str(int(peak_kib) * 1024)
    except (ImportError, OSError, ValueError):
        pass
    return meta


class Recording:
    """Start and stop of one run; ``run`` holds the result."""

    def __init__(self, options: Options, *, name: str, argv: Sequence[str],
                 source_dir: str | None) -> None:
        self.options = options
        self.log = RunLog()
        self.run = Run(name=name, options=options, log=self.log)
        self._argv = list(argv)  # the program's argv, recorded in the metadata
        self._source_dir = source_dir  # where to look for a git checkout
        self._meta: dict[str, str] = {}  # collected at begin, stored at end
        self.extra_meta: dict[str, str] = {}  # added by the caller (a child's role, ...)
        self._started = 0.0  # time.time() when tracing started
        self._torch_start: dict[str, int] | None = None  # torch CUDA memory at start

    @property
    def started_at(self) -> float:
        """time.time() when tracing started (0 before)."""
        return self._started

    def check_output(self, *, default_root: bool) -> None:
        """Fail before tracing starts when the output cannot be written."""
        if self.options.output_dir is not None:
            ensure_writable_dir(Path(self.options.output_dir))
        elif default_root:
            ensure_writable_dir(runs_root())

    def begin(self) -> None:
        """Collect metadata, then start tracing. Raises ``_core.ProfilerBusyError``
        when another tool holds the hook, RuntimeError when already tracing."""
        log = self.log
        log.info(f"pipegauge {__version__}, Python {platform.python_version()} ({sys.executable}), pid {os.getpid()}")
        log.info(f"run {self.run.name!r}, options {self.options.to_json()}")
        self._meta = collect_start_meta(
            name=self.run.name,
            argv=self._argv,
            options_json=self.options.to_json(),
            source_dir=self._source_dir,
            warn=log.warning,
        )
        arguments = tracer_arguments(self.options)
        if self.options.include_stdlib:
            log.info("stdlib and site-packages code is profiled (--include-stdlib)")
        else:
            log.info(f"stdlib and site-packages code is folded into its callers "
                     f"({len(arguments['collapse_prefixes'])} path prefixes)")
        if self.options.ignore_modules:
            log.info(f"ignored modules: {', '.join(self.options.ignore_modules)}")
        if not self.options.builtins:
            log.info("builtins are not attributed (--no-builtins)")
        if not self.options.memory:
            log.info("memory is not attributed (--no-memory)")
        if not self.options.cpu:
            log.info("CPU time is not attributed (--no-cpu)")
        if not self.options.timeline:
            log.info("no resource timeline (--no-timeline)")
        if self.options.lines:
            if lines_available():
                log.info(f"line heat: functions matching {list(self.options.lines_for)} and "
                         f"those above {self.options.lines_threshold:.0%} of own time")
            elif self.options.mode != "sample":
                log.info(LINES_FROM_SAMPLES.format(version=platform.python_version(),
                                                   hz=self.options.sample_hz))
        if self.options.mode == "sample":
            log.info(f"sampling mode: {self.options.sample_hz:g} Hz on {self.options.sample_clock} time, "
                     "no profile hook; call counts are not measured")
            wanted = [name for name in SAMPLE_MODE_OFF if getattr(self.options, name)]
            if wanted:
                log.warning(f"sampling mode: {', '.join(wanted)} attribution is off "
                            "(it needs the deterministic tracer's call stack)")
        self._torch_start = torch_memory()
        self._started = time.time()
        _core.start(**arguments)
        if self.options.memory and self.options.mode != "sample":
            _numpy_hook.install()
        try:
            log.info(f"tracer started, backend {_core.backend()}")
            log.info(f"I/O attribution: {_core.io_status()}")
        except Exception as exc:  # noqa: BLE001 - logging must not fail the run
            log.warning(f"backend unknown: {exc}")

    def end(self, reason: str) -> Run:
        """Stop tracing and complete the run (metadata, counters, log)."""
        _numpy_hook.uninstall()
        profile = _core.stop()
        run = self.run
        run.profile = profile
        run.end_reason = reason
        self._store_meta(profile, reason)
        self._log_counters(run)
        return run

    def snapshot(self) -> Run:
        """A copy of the live profile as a Run (tracing goes on), for the
        periodic flush of long runs."""
        snapshot = Run(name=self.run.name, options=self.options, log=self.log)
        snapshot.profile = _core.snapshot()
        snapshot.end_reason = "running"
        self._store_meta(snapshot.profile, "running (periodic snapshot)")
        return snapshot

    def _store_meta(self, profile: _core.Profile, reason: str) -> None:
        meta = dict(self._meta)
        meta.update(self.extra_meta)
        try:
            info = profile.run
            start_ns = float(info.get("start_epoch_ns", 0.0))
            meta["start_time"] = iso_utc(start_ns / 1e9 if start_ns > 0 else self._started)
            meta["duration"] = f"{float(info.get('duration_ns', 0.0)) / 1e9:.6f}"
        except Exception as exc:  # noqa: BLE001
            self.log.warning(f"run times not recorded in metadata: {exc}")
        try:
            meta["backend"] = "stack sampler" if self.options.mode == "sample" else _core.backend()
            meta["io"] = _core.io_status()
        except Exception as exc:  # noqa: BLE001
            self.log.warning(f"backend not recorded: {exc}")
        meta["end_reason"] = reason
        meta.update(_scale_meta())
        torch_end = torch_memory()
        if self._torch_start is not None or torch_end is not None:
            meta["torch_cuda"] = json.dumps({"start": self._torch_start, "end": torch_end},
                                            sort_keys=True)
        for key, value in meta.items():
            try:
                profile.set_meta(key, value)
            except Exception as exc:  # noqa: BLE001
                self.log.warning(f"metadata {key!r} not stored: {exc}")

    def _log_counters(self, run: Run) -> None:
        log = self.log
        try:
            info = run.run_info
            overhead = run.overhead
        except Exception as exc:  # noqa: BLE001
            log.warning(f"run statistics unavailable: {exc}")
            return
        duration_ns = float(info.get("duration_ns", 0.0))
        log.info(f"tracer stopped ({run.end_reason}): {format_duration_ns(duration_ns)} wall, "
                 f"{int(info.get('events', 0)):,} events, {int(info.get('threads', 0))} threads")
        if run.sampled:
            meta = run.meta
            log.info(f"sampling: {run.sampling_text()}, {meta.get('samples_outside_python', '0')} outside "
                     f"Python code, {meta.get('sample_threads', '0')} threads given a timer")
            if int(meta.get("samples_lost", "0") or 0):
                log.warning(f"{meta['samples_lost']} samples were lost (a thread's ring was full)")
            log.info(f"profiler memory: {format_bytes(overhead.profiler_memory)}")
            self._log_stages(run)
            return
        log.info(f"calibration: {overhead.event_cost_ns:.1f} ns per event, "
                 f"{float(info.get('ns_per_unit', 0.0)):.4f} ns per clock unit")
        log.info(f"overhead estimate: {format_duration_ns(overhead.estimate * 1e9)} "
                 f"({format_percent(overhead.fraction)} of the run); times are "
                 + ("corrected for it" if overhead.corrected else "not corrected (--no-overhead-correction)"))
        log.info(f"profiler memory: {format_bytes(overhead.profiler_memory)}")
        lost = int(info.get("lost_events", 0))
        unmatched = int(info.get("unmatched_events", 0))
        log.info(f"counters: {lost:,} events lost, {unmatched:,} unmatched exits")
        if lost:
            log.warning(f"{lost:,} events were lost (out of memory or limits): counts are incomplete")
        if unmatched:
            log.warning(f"{unmatched:,} exit events had no matching entry and were ignored")
        self._log_stages(run)

    def _log_stages(self, run: Run) -> None:
        log = self.log
        try:
            report = run.stages()
        except Exception as exc:  # noqa: BLE001 - logging must not fail the run
            log.warning(f"pipeline stages unavailable: {exc}")
            return
        if not report.stages or report.auto:
            log.info("pipeline stages: none declared")
            return
        log.info(f"pipeline stages: {report.diagram()}; {len(report.spans):,} spans")
        if report.bottleneck is not None:
            log.info(f"bottleneck: {report.bottleneck.text}")
        if report.log.get("coalesced"):
            log.info(f"stage span log full: neighbouring spans merged {report.log['coalesced']} times")
        for key, what in (("spans_dropped", "stage spans dropped (more thread/stage pairs than the log holds)"),
                          ("lost", "stage activations or latency values lost (out of memory, or a with-block left open across a yield)")):
            if report.log.get(key):
                log.warning(f"{report.log[key]:,} {what}")
