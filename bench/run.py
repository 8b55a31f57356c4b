"""pipegauge overhead benchmark: slowdown against no profiler and against
cProfile, pyinstrument and yappi, side by side, per Python version.

    python bench/run.py [--pythons 3.10,3.11,3.12,3.13] [--repeat N] [--quick] [--markdown]

For each Python version it makes (or reuses) a virtual environment under
bench/.venvs/ with pipegauge (built from this checkout; rebuilt when the
sources change), pyinstrument and yappi. Every measurement runs in a fresh
interpreter (bench/_child.py) and times only the workload (perf_counter
around it, the profiler started before and stopped after). Within each
repetition the profilers are interleaved round-robin, starting from a
different one each time, so that a noisy neighbour on a shared machine
hurts all of them alike; the median of the repetitions is reported.

It also measures pipegauge's own memory after 10^5 and 10^7 calls of the
same few functions (acceptance: within 1 MB).

This is a benchmark, not a test: it prints numbers and which targets pass,
and writes everything (raw timings included) to bench/results/*.json. The
exit status is 0 unless the harness itself failed.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Optional

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
VENVS_DIR = os.path.join(BENCH_DIR, ".venvs")
RESULTS_DIR = os.path.join(BENCH_DIR, "results")
CHILD = os.path.join(BENCH_DIR, "_child.py")

sys.path.insert(0, BENCH_DIR)
from workloads import DESCRIPTIONS, WORKLOADS  # noqa: E402

DEFAULT_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PROFILERS = ("none", "cProfile", "pyinstrument", "yappi", "pipegauge")
# on request: pipegauge(exact_builtins=True); pipegauge without memory
# attribution, without memory and CPU; the stdlib's tracemalloc; the resource
# timeline off, and at 200 Hz; sampling mode (default rate, wall clock), on
# CPU time, and at other rates (pipegauge-sample-<N>hz)
EXTRA_PROFILERS = ("pipegauge-exact", "pipegauge-nomem", "pipegauge-timeonly", "tracemalloc",
                   "pipegauge-notimeline", "pipegauge-200hz", "pipegauge-sample",
                   "pipegauge-sample-cpu", "pipegauge-sample-1000hz", "pipegauge-sample-4000hz")
THIRD_PARTY = ("pyinstrument", "yappi")
STAMP_FILE = ".pipegauge-source-hash"

# Issue 2 acceptance: pipegauge's time as a fraction of cProfile's time.
TARGETS: dict[str, dict[str, float]] = {
    "3.12": {"call_heavy": 0.62, "method_heavy": 0.62, "pipeline": 0.80},
    "3.13": {"call_heavy": 0.62, "method_heavy": 0.62, "pipeline": 0.80},
    "3.10": {"call_heavy": 0.85, "method_heavy": 0.85, "pipeline": 0.85},
    "3.11": {"call_heavy": 0.85, "method_heavy": 0.85, "pipeline": 0.85},
}
MEMORY_CHECKPOINTS = (10**5, 10**7)
MEMORY_LIMIT_BYTES = 1_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- interpreters and environments -----------------------------------------


def find_interpreter(version: str) -> Optional[str]:
    """The python executable for a 'X.Y' version: pyenv first, then PATH."""
    candidates: list[str] = []
    try:
        prefix = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True,
                                timeout=30)
        if prefix.returncode == 0 and prefix.stdout.strip():
            candidates.append(os.path.join(prefix.stdout.strip().splitlines()[0], "bin", "python"))
    except (OSError, subprocess.TimeoutExpired):
        pass
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for root in (pyenv_root, "/root/.pyenv"):
        matches = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", "python"))
        candidates.extend(sorted(matches, key=_version_key, reverse=True))
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if os.access(candidate, os.X_OK) and _reports_version(candidate, version):
            return candidate
    return None


def _version_key(path: str) -> tuple[int, ...]:
    release = os.path.basename(os.path.dirname(os.path.dirname(path)))
    return tuple(int(part) if part.isdigit() else -1 for part in release.split("."))


def _reports_version(python: str, version: str) -> bool:
    probe = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True)
    return probe.returncode == 0 and probe.stdout.strip() == version


def source_hash() -> str:
    """A hash of everything that goes into the built package."""
    digest = hashlib.sha256()
    names = ["pyproject.toml", "meson.build", "meson.options", "meson_options.txt"]
    for sub in ("src", "tests/c"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(REPO_ROOT, sub)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            names.extend(os.path.relpath(os.path.join(dirpath, f), REPO_ROOT)
                         for f in sorted(filenames) if not f.endswith(".pyc"))
    for name in names:
        path = os.path.join(REPO_ROOT, name)
        if os.path.isfile(path):
            digest.update(name.encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


def pip(venv_python: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([venv_python, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)


def imports_ok(venv_python: str, module: str) -> bool:
    probe = subprocess.run([venv_python, "-c", f"import {module}"], capture_output=True,
                           cwd=tempfile.gettempdir())
    return probe.returncode == 0


def prepare_venv(version: str, base_python: str, reinstall: bool) -> tuple[str, Optional[str]]:
    """(venv python, why pipegauge is unavailable or None)."""
    venv_dir = os.path.join(VENVS_DIR, f"py{version}")
    venv_python = os.path.join(venv_dir, "bin", "python")
    if not os.path.exists(venv_python):
        log(f"[{version}] creating {os.path.relpath(venv_dir, REPO_ROOT)}")
        subprocess.run([base_python, "-m", "venv", venv_dir], check=True)
    missing = [m for m in THIRD_PARTY if not imports_ok(venv_python, m)]
    if missing:
        log(f"[{version}] installing {' '.join(missing)}")
        done = pip(venv_python, "install", "-q", *missing)
        if done.returncode != 0:
            raise SystemExit(f"[{version}] pip install {' '.join(missing)} failed:\n{done.stderr}")
    wanted = source_hash()
    stamp_path = os.path.join(venv_dir, STAMP_FILE)
    stamp = ""
    if os.path.exists(stamp_path):
        with open(stamp_path) as handle:
            stamp = handle.read().strip()
    if reinstall or stamp != wanted or not imports_ok(venv_python, "pipegauge._core"):
        log(f"[{version}] building and installing pipegauge from {REPO_ROOT}")
        done = pip(venv_python, "install", "-q", "--force-reinstall", REPO_ROOT)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            return venv_python, f"pip install of pipegauge failed:\n{tail}"
        with open(stamp_path, "w") as handle:
            handle.write(wanted + "\n")
    if not imports_ok(venv_python, "pipegauge._core"):
        return venv_python, "pipegauge._core does not import"
    return venv_python, None


# --- measuring -------------------------------------------------------------


@dataclass
class VersionResult:
    version: str
    python: str = ""
    pipegauge_backend: str = ""
    pipegauge_error: Optional[str] = None
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    by_repetition: dict[str, dict[str, dict[int, float]]] = field(default_factory=dict)
    checksums: dict[str, dict[str, int]] = field(default_factory=dict)
    extras: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    memory: Optional[dict[str, Any]] = None
    loadavg: list[tuple[float, float, float]] = field(default_factory=list)  # before, after

    def median(self, workload: str, profiler: str) -> Optional[float]:
        samples = self.times.get(workload, {}).get(profiler)
        return statistics.median(samples) if samples else None

    def ratio(self, workload: str, profiler: str, against: str = "none") -> Optional[float]:
        numerator, denominator = self.median(workload, profiler), self.median(workload, against)
        if numerator is None or not denominator:
            return None
        return numerator / denominator

    def paired_ratio(self, workload: str, profiler: str, against: str) -> Optional[float]:
        """Median over repetitions of the ratio within each repetition: the two
        runs of a pair ran close together, so slow drifts of a shared machine
        cancel out. A cross-check of ratio(), reported in the JSON."""
        samples = self.by_repetition.get(workload, {})
        mine, theirs = samples.get(profiler, {}), samples.get(against, {})
        ratios = [mine[rep] / theirs[rep] for rep in mine if theirs.get(rep)]
        return statistics.median(ratios) if ratios else None


def run_child(venv_python: str, args: list[str], workdir: str, timeout: float) -> dict[str, Any]:
    done = subprocess.run([venv_python, CHILD, *args], capture_output=True, text=True,
                          cwd=workdir, timeout=timeout)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"exit {done.returncode}: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_version(result: VersionResult, venv_python: str, workloads: list[str],
                    profilers: list[str], repeat: int, scale: float, workdir: str) -> None:
    result.loadavg.append(os.getloadavg())
    for rep in range(repeat):
        for index, workload in enumerate(workloads):
            shift = (rep + index) % len(profilers)
            order = profilers[shift:] + profilers[:shift]
            for profiler in order:
                try:
                    out = run_child(venv_python, ["time", workload, profiler, str(scale)],
                                    workdir, timeout=600)
                except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                    result.failures.append(f"{workload}/{profiler}: {exc}")
                    log(f"[{result.version}] {workload}/{profiler} failed: {exc}")
                    continue
                result.python = out["python"]
                result.times.setdefault(workload, {}).setdefault(profiler, []).append(out["elapsed"])
                result.by_repetition.setdefault(workload, {}).setdefault(profiler, {})[rep] = \
                    out["elapsed"]
                result.checksums.setdefault(workload, {})[profiler] = out["checksum"]
                if out.get("extra"):
                    result.extras.setdefault(workload, []).append(out["extra"])
        log(f"[{result.version}] repetition {rep + 1}/{repeat} done")
    result.loadavg.append(os.getloadavg())
    for workload, by_profiler in result.checksums.items():
        if len(set(by_profiler.values())) > 1:
            result.failures.append(f"{workload}: checksums differ between profilers {by_profiler}")


def measure_memory(result: VersionResult, venv_python: str, workdir: str) -> None:
    args = ["memory", *(str(c) for c in MEMORY_CHECKPOINTS)]
    try:
        out = run_child(venv_python, args, workdir, timeout=600)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        result.memory = {"error": str(exc)}
        return
    first, last = out["checkpoints"][0], out["checkpoints"][-1]
    memory: dict[str, Any] = {"checkpoints": out["checkpoints"], "backend": out.get("backend")}
    if first["profiler_memory"] is not None and last["profiler_memory"] is not None:
        growth = last["profiler_memory"] - first["profiler_memory"]
        memory["profiler_memory_growth"] = growth
        memory["pass"] = abs(growth) <= MEMORY_LIMIT_BYTES
    memory["rss_growth"] = last["rss"] - first["rss"]
    result.memory = memory


# --- reporting -------------------------------------------------------------


def fmt_ratio(value: Optional[float], digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}x"


def target_cell(result: VersionResult, workload: str) -> tuple[str, Optional[bool]]:
    limit = TARGETS.get(result.version, {}).get(workload)
    if limit is None:
        return "-", None
    ratio = result.ratio(workload, "pipegauge", "cProfile")
    if ratio is None:
        return f"<= {limit:.2f} (no data)", None
    passed = ratio <= limit
    return f"<= {limit:.2f} {'PASS' if passed else 'FAIL'}", passed


def table_rows(result: VersionResult, workloads: list[str], profilers: list[str]) -> list[list[str]]:
    rows = []
    for workload in workloads:
        base = result.median(workload, "none")
        row = [workload, "n/a" if base is None else f"{base * 1000:.0f}"]
        row += [fmt_ratio(result.ratio(workload, p)) for p in profilers if p != "none"]
        if "pipegauge" in profilers and "cProfile" in profilers:
            row.append(fmt_ratio(result.ratio(workload, "pipegauge", "cProfile"), digits=3))
            row.append(target_cell(result, workload)[0])
        rows.append(row)
    return rows


def table_header(profilers: list[str]) -> list[str]:
    header = ["workload", "no profiler (ms)"] + [p for p in profilers if p != "none"]
    if "pipegauge" in profilers and "cProfile" in profilers:
        header += ["pipegauge / cProfile", "target"]
    return header


def memory_line(result: VersionResult) -> str:
    memory = result.memory
    if not memory:
        return ""
    if "error" in memory:
        return f"memory: failed: {memory['error']}"
    first, last = memory["checkpoints"][0], memory["checkpoints"][-1]
    parts = []
    if "profiler_memory_growth" in memory:
        parts.append(f"profiler memory {first['profiler_memory'] / 1024:.1f} KiB after "
                     f"{first['calls']:.0e} calls, {last['profiler_memory'] / 1024:.1f} KiB after "
                     f"{last['calls']:.0e} (growth {memory['profiler_memory_growth']:+d} B, "
                     f"limit 1 MB: {'PASS' if memory['pass'] else 'FAIL'})")
    parts.append(f"process RSS growth between them {memory['rss_growth'] / 1024:+.0f} KiB")
    return "memory: " + "; ".join(parts)


def print_text(result: VersionResult, workloads: list[str], profilers: list[str],
               repeat: int) -> None:
    print(f"\nPython {result.python or result.version}  (pipegauge: "
          f"{result.pipegauge_backend or result.pipegauge_error or 'n/a'})")
    print(f"slowdown vs no profiler, median of {repeat}, workload region only")
    header = table_header(profilers)
    rows = table_rows(result, workloads, profilers)
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    for row in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    if memory_line(result):
        print(memory_line(result))
    busy = busy_warning(result)
    if busy:
        print(busy)
    for failure in result.failures:
        print(f"FAILED: {failure}")


def busy_warning(result: VersionResult) -> str:
    """A note when other work loaded the machine while this version was measured."""
    cpus = os.cpu_count() or 1
    peak = max((load[0] for load in result.loadavg), default=0.0)
    if peak <= min(1.5, cpus):  # our own measurement keeps about one CPU busy
        return ""
    return (f"note: load average reached {peak:.1f} on {cpus} CPUs while measuring; "
            f"other work competed for the CPU and these ratios are noisy")


def print_markdown(result: VersionResult, workloads: list[str], profilers: list[str],
                   repeat: int) -> None:
    print(f"\n#### Python {result.python or result.version}\n")
    header = table_header(profilers)
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for row in table_rows(result, workloads, profilers):
        print("| " + " | ".join(row) + " |")
    print(f"\npipegauge backend: {result.pipegauge_backend or result.pipegauge_error or 'n/a'}.")
    if memory_line(result):
        print(f"\n{memory_line(result)}")
    busy = busy_warning(result)
    if busy:
        print(f"\n{busy}")


def print_markdown_preamble(repeat: int, scale: float, day: str, machine: dict[str, Any],
                            revision: str) -> None:
    model = machine.get("cpu_model")
    print(f"Measured {day} (pipegauge {revision}) on {machine.get('cpus')} CPUs"
          f"{f' ({model})' if model else ''}, {machine.get('platform')}. "
          f"Each cell is the workload's time under the profiler divided by its time "
          f"without one: median of {repeat} runs, each in a fresh interpreter, profilers "
          f"interleaved round-robin; only the workload is timed"
          f"{'' if scale == 1.0 else f' (workload scale {scale})'}. Profilers as they come: "
          f"cProfile; pyinstrument (1 ms sampling); yappi (wall clock, builtins off); "
          f"pipegauge (builtins on, stdlib folded). Targets (issue 2): pipegauge / cProfile "
          f"<= 0.62 on call_heavy and method_heavy and <= 0.80 on pipeline on 3.12/3.13; "
          f"<= 0.85 on those three on 3.10/3.11. Reproduce: `python bench/run.py --markdown`.")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor()


def source_revision() -> str:
    """The commit pipegauge was built from, "+local changes" when src/ differs."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "meson.build",
                                "pyproject.toml"], cwd=REPO_ROOT, capture_output=True,
                               text=True).stdout.strip()
    except OSError:
        return "unknown"
    return (commit or "no commit") + (" +local changes" if dirty else "")


def machine_info() -> dict[str, Any]:
    return {"platform": platform.platform(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "loadavg": os.getloadavg(), "cpu_model": cpu_model()}


def write_results(results: list[VersionResult], args: argparse.Namespace,
                  workloads: list[str], profilers: list[str]) -> str:
    os.makedirs(RESULTS_DIR, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {
        "created": stamp, "revision": args.revision, "repeat": args.repeat, "scale": args.scale, "workloads": workloads,
        "descriptions": {w: DESCRIPTIONS[w] for w in workloads}, "profilers": profilers,
        "targets": TARGETS, "machine": machine_info(), "versions": [],
    }
    for result in results:
        summary = {
            w: {p: result.median(w, p) for p in profilers if result.median(w, p) is not None}
            for w in workloads
        }
        ratios = {
            w: {p: result.ratio(w, p) for p in profilers if p != "none"} for w in workloads
        }
        pg_vs_cprofile = {w: result.ratio(w, "pipegauge", "cProfile") for w in workloads}
        paired = {w: result.paired_ratio(w, "pipegauge", "cProfile") for w in workloads}
        payload["versions"].append({
            "version": result.version, "python": result.python,
            "pipegauge_backend": result.pipegauge_backend,
            "pipegauge_error": result.pipegauge_error, "median_seconds": summary,
            "slowdown": ratios, "pipegauge_vs_cprofile": pg_vs_cprofile,
            "pipegauge_vs_cprofile_paired": paired, "loadavg": result.loadavg,
            "targets_pass": {w: target_cell(result, w)[1] for w in workloads},
            "raw_seconds": result.times, "raw_by_repetition": result.by_repetition,
            "pipegauge_self_report": result.extras,
            "memory": result.memory, "failures": result.failures,
        })
    path = os.path.join(RESULTS_DIR, f"bench-{stamp}.json")
    for target in (path, os.path.join(RESULTS_DIR, "latest.json")):
        with open(target, "w") as handle:
            json.dump(payload, handle, indent=2)
    return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pythons", default=",".join(DEFAULT_PYTHONS),
                        help="comma-separated X.Y versions (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="repetitions per cell; the median is reported (default 5, 3 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller workloads and fewer repetitions, for a smoke run")
    parser.add_argument("--scale", type=float, default=None,
                        help="workload size factor (default 1.0, 0.3 with --quick)")
    parser.add_argument("--markdown", action="store_true", help="print the README tables")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated subset (default: all)")
    parser.add_argument("--profilers", default=",".join(PROFILERS),
                        help="comma-separated subset; 'none' is always added; also "
                             "available: " + ", ".join(EXTRA_PROFILERS))
    parser.add_argument("--no-memory", action="store_true", help="skip the memory benchmark")
    parser.add_argument("--from-json", metavar="FILE",
                        help="print the tables of an earlier results file; measure nothing")
    parser.add_argument("--reinstall", action="store_true",
                        help="rebuild pipegauge into the venvs even if the sources did not change")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if args.scale is None:
        args.scale = 0.3 if args.quick else 1.0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def load_results(path: str) -> tuple[list[VersionResult], dict[str, Any]]:
    """VersionResults back from a results file written by write_results."""
    with open(path) as handle:
        payload = json.load(handle)
    results = []
    for entry in payload["versions"]:
        result = VersionResult(version=entry["version"], python=entry["python"],
                               pipegauge_backend=entry["pipegauge_backend"],
                               pipegauge_error=entry["pipegauge_error"],
                               times=entry["raw_seconds"], memory=entry["memory"],
                               failures=entry["failures"],
                               loadavg=[tuple(load) for load in entry.get("loadavg", [])])
        result.by_repetition = {
            w: {p: {int(rep): t for rep, t in reps.items()} for p, reps in by_p.items()}
            for w, by_p in entry.get("raw_by_repetition", {}).items()}
        results.append(result)
    return results, payload


def print_saved(path: str, markdown: bool) -> int:
    results, payload = load_results(path)
    workloads, profilers, repeat = payload["workloads"], payload["profilers"], payload["repeat"]
    if markdown:
        created = payload["created"]
        print_markdown_preamble(repeat, payload["scale"],
                                f"{created[:4]}-{created[4:6]}-{created[6:8]}", payload["machine"],
                                payload.get("revision", "unknown"))
    for result in results:
        if markdown:
            print_markdown(result, workloads, profilers, repeat)
        else:
            print_text(result, workloads, profilers, repeat)
    return 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.from_json:
        return print_saved(args.from_json, args.markdown)
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = [w for w in workloads if w not in WORKLOADS]
    profilers = ["none"] + [p for p in args.profilers.split(",") if p and p != "none"]
    unknown += [p for p in profilers if p not in PROFILERS + EXTRA_PROFILERS]
    if unknown:
        print(f"bench: unknown workload or profiler: {', '.join(unknown)}", file=sys.stderr)
        return 2
    args.revision = source_revision()
    results: list[VersionResult] = []
    with tempfile.TemporaryDirectory(prefix="pipegauge-bench-") as workdir:
        for version in [v.strip() for v in args.pythons.split(",") if v.strip()]:
            result = VersionResult(version=version)
            base_python = find_interpreter(version)
            if base_python is None:
                log(f"[{version}] no interpreter found; skipped")
                result.failures.append("no interpreter found")
                results.append(result)
                continue
            venv_python, pipegauge_error = prepare_venv(version, base_python, args.reinstall)
            version_profilers = list(profilers)
            if pipegauge_error:
                log(f"[{version}] pipegauge unavailable: {pipegauge_error}")
                result.pipegauge_error = "unavailable"
                result.failures.append(pipegauge_error)
                version_profilers = [p for p in profilers if not p.startswith("pipegauge")]
            else:
                probe = subprocess.run(
                    [venv_python, "-c", "from pipegauge import _core; _core.start(); "
                     "backend = _core.backend(); _core.stop(); print(backend)"],
                    capture_output=True, text=True, cwd=workdir)
                result.pipegauge_backend = probe.stdout.strip()
            log(f"[{version}] measuring {len(workloads)} workloads x {len(version_profilers)} "
                f"profilers x {args.repeat} repetitions")
            measure_version(result, venv_python, workloads, version_profilers, args.repeat,
                            args.scale, workdir)
            if "pipegauge" in version_profilers and not args.no_memory:
                log(f"[{version}] memory: {MEMORY_CHECKPOINTS[0]:.0e} vs {MEMORY_CHECKPOINTS[-1]:.0e} calls")
                measure_memory(result, venv_python, workdir)
            results.append(result)
            if not args.markdown:
                print_text(result, workloads, profilers, args.repeat)
    if args.markdown:
        print_markdown_preamble(args.repeat, args.scale, time.strftime("%Y-%m-%d"), machine_info(),
                                args.revision)
        for result in results:
            print_markdown(result, workloads, profilers, args.repeat)
    path = write_results(results, args, workloads, profilers)
    log(f"\nresults written to {os.path.relpath(path, os.getcwd())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
