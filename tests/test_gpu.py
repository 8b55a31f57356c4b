"""The GPU path of the resource sampler, against a fake NVML library
(tests/fake_nvml/fake_nvml.c) loaded through PIPEGAUGE_NVML_LIBRARY:
loading, sampling, the missing-library and error paths, and attribution
of GPU busy time to the functions running in each interval."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from pipegauge import _core
from pipegauge._format import read_profile

FAKE_SOURCE = Path(__file__).resolve().parent / "fake_nvml" / "fake_nvml.c"
MS = 1_000_000


def compile_fake(directory: Path, *flags: str) -> Path:
    """The fake library, compiled with the C compiler that built Python's
    extensions (the project's own build needs one anyway)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not shutil.which(compiler):
        compiler = "cc"
    library = directory / "libnvidia-ml-fake.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", *flags, "-o", str(library),
                    str(FAKE_SOURCE)], check=True)
    return library


@pytest.fixture(scope="module")
def fake_nvml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_fake(tmp_path_factory.mktemp("nvml"))


def gpu_env(fake_nvml: Path, state: Path, **extra: str) -> dict[str, str]:
    return {"PIPEGAUGE_NVML_LIBRARY": str(fake_nvml), "FAKE_NVML_STATE": str(state), **extra}


def profile_of(run_dir: Path) -> _core.Profile:
    return _core.Profile.read(str(run_dir / "profile.pgprof"))


SLEEPER = """
    import time
    time.sleep(0.6)
"""


def test_fake_gpus_are_sampled_on_the_timeline(pipegauge, write_script, workdir, fake_nvml):
    # GIVEN two fake GPUs at 40% busy, 3 GB used, 1 GB of it ours
    state = workdir / "state"
    state.write_text(f"40 {3 << 30} {1 << 30}\n")
    write_script(SLEEPER)
    # WHEN a program runs under pipegauge
    result = pipegauge("run", "-o", "out", "prog.py",
                       env=gpu_env(fake_nvml, state, FAKE_NVML_DEVICES="2"))
    assert result.returncode == 0, result.stderr
    profile = profile_of(workdir / "out")
    timeline = profile.timeline()
    # THEN the metadata names the devices and the timeline has a GPU section
    assert profile.meta["gpu"] == "2 devices: Fake GPU 0, Fake GPU 1"
    gpus = timeline["gpus"]
    assert [g["name"] for g in gpus] == ["Fake GPU 0", "Fake GPU 1"]
    assert gpus[0]["memory_total"] == 16 << 30
    # AND every sample reads 40% busy, 3 GB used, 1 GB by this process
    for gpu in gpus:
        for busy, dt in zip(gpu["busy_ns"], timeline["dt_ns"]):
            assert busy == pytest.approx(0.4 * dt, abs=dt / 100 + 1)
        assert set(gpu["memory_bytes"]) == {3 << 30}
        assert set(gpu["process_bytes"]) == {1 << 30}  # the other pid's bytes are not ours
    # AND the pure-Python reader reads the same TGPU section
    pure = read_profile(workdir / "out" / "profile.pgprof")["timeline"]
    assert [g["name"] for g in pure["gpus"]] == ["Fake GPU 0", "Fake GPU 1"]
    assert [s["gpu"][0][0] for s in pure["samples"]] == gpus[0]["busy_ns"]
    # AND the Chrome trace has GPU counter tracks
    assert pipegauge("export", "out", "--format", "chrome", "-o", "t.json").returncode == 0
    import json

    events = json.loads((workdir / "t.json").read_text())["traceEvents"]
    util = [e["args"]["percent"] for e in events if e["name"] == "GPU utilisation 1"]
    assert len(util) == len(timeline["t_ns"]) and all(39 <= u <= 40 for u in util), util
    # AND view --timeline draws the GPU rows
    view = pipegauge("view", "out", "--timeline", env={"PYTHONIOENCODING": "utf-8"})
    assert "GPU0 %" in view.stdout and "mean 40%" in view.stdout
    assert "GPU1 mem" in view.stdout and "peak 3.0GiB" in view.stdout


def test_old_process_list_layout(pipegauge, write_script, workdir, tmp_path_factory):
    # GIVEN an NVML with only the unversioned process list (16-byte entries)
    old = compile_fake(tmp_path_factory.mktemp("nvml-v1"), "-DFAKE_NVML_V1")
    state = workdir / "state"
    state.write_text(f"10 {2 << 30} {300 << 20}\n")
    write_script(SLEEPER)
    result = pipegauge("run", "-o", "out", "prog.py", env=gpu_env(old, state))
    assert result.returncode == 0, result.stderr
    # THEN this process's bytes are still found among the others'
    gpu = profile_of(workdir / "out").timeline()["gpus"][0]
    assert set(gpu["process_bytes"]) == {300 << 20}


def test_missing_library_means_no_gpu_section(pipegauge, write_script, workdir):
    write_script(SLEEPER)
    missing = workdir / "no-such-libnvidia-ml.so.1"
    result = pipegauge("run", "-o", "out", "prog.py", env={"PIPEGAUGE_NVML_LIBRARY": str(missing)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    profile = profile_of(workdir / "out")
    assert profile.meta["gpu"] == f"none ({missing} not found)"
    assert profile.timeline()["gpus"] == []
    assert "TGPU" not in (workdir / "out" / "profile.pgprof").read_bytes().decode("latin-1")
    assert not any(name.startswith("gpu.") for name, _, _ in profile.metrics())


@pytest.mark.parametrize(("fail", "why"), [
    ("init", "nvmlInit: fake failure"),
    ("count", "nvmlDeviceGetCount: fake failure"),
])
def test_nvml_errors_mean_no_gpu_section(pipegauge, write_script, workdir, fake_nvml, fail, why):
    write_script(SLEEPER)
    result = pipegauge("run", "-o", "out", "prog.py",
                       env=gpu_env(fake_nvml, workdir / "state", FAKE_NVML_FAIL=fail))
    assert result.returncode == 0, result.stderr
    profile = profile_of(workdir / "out")
    assert profile.meta["gpu"] == f"none ({why})"
    assert profile.timeline()["gpus"] == []


def test_no_devices_and_no_gpu_option(pipegauge, write_script, workdir, fake_nvml):
    write_script(SLEEPER)
    result = pipegauge("run", "-o", "out", "prog.py",
                       env=gpu_env(fake_nvml, workdir / "state", FAKE_NVML_DEVICES="0"))
    assert result.returncode == 0, result.stderr
    assert profile_of(workdir / "out").meta["gpu"] == "none (no NVIDIA device)"
    result = pipegauge("run", "-o", "out2", "--no-gpu", "prog.py",
                       env=gpu_env(fake_nvml, workdir / "state"))
    assert result.returncode == 0, result.stderr
    assert profile_of(workdir / "out2").meta["gpu"] == "none (disabled)"


def test_failing_readings_are_zero_not_fatal(pipegauge, write_script, workdir, fake_nvml):
    state = workdir / "state"
    state.write_text("90 100 50\n")
    write_script(SLEEPER)
    result = pipegauge("run", "-o", "out", "prog.py",
                       env=gpu_env(fake_nvml, state, FAKE_NVML_FAIL="read"))
    assert result.returncode == 0, result.stderr
    gpu = profile_of(workdir / "out").timeline()["gpus"][0]
    assert set(gpu["busy_ns"]) == {0}


ATTRIBUTION = """
    import threading, time
    STATE = {state!r}
    def set_utilisation(percent):
        with open(STATE + ".tmp", "w") as f:
            f.write(f"{{percent}} {{2 << 30}} {{512 << 20}}\\n")
        import os
        os.replace(STATE + ".tmp", STATE)
    def train():           # runs while the GPU is 100% busy
        time.sleep(0.8)
    def load_data():       # runs while the GPU is idle
        time.sleep(0.8)
    def main():
        set_utilisation(100)
        train()
        set_utilisation(0)
        load_data()
        set_utilisation(100)
        workers = [threading.Thread(target=train) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        set_utilisation(0)
    main()
"""


def function_metric(profile: _core.Profile, metric_name: str) -> dict[str, int]:
    """{function name: inclusive value} for one metric (the time.sleep a
    function waits in is its child)."""
    index = [name for name, _, _ in profile.metrics()].index(metric_name)
    values = profile.function_metric(index)
    return {record[0].rsplit(".", 1)[-1]: inclusive
            for record, (_exclusive, inclusive) in zip(profile.functions(), values)}


def test_gpu_busy_time_is_attributed_to_the_running_functions(pipegauge, write_script, workdir,
                                                              fake_nvml):
    # GIVEN a program whose train() runs while the fake GPU is 100% busy and
    # whose load_data() runs while it is idle; then two threads train at once
    state = workdir / "state"
    write_script(ATTRIBUTION.format(state=str(state)))
    # (--no-io: the view's I/O columns would cut train's name to fit 80)
    result = pipegauge("run", "-o", "out", "--no-io", "--timeline-hz", "100", "prog.py",
                       env=gpu_env(fake_nvml, state))
    assert result.returncode == 0, result.stderr
    profile = profile_of(workdir / "out")
    busy = function_metric(profile, "gpu.busy_ns")
    memory = function_metric(profile, "gpu.mem_bytes")
    # THEN train() gets the busy time of its 0.8 s alone, plus two thirds of
    # the threads' 0.8 s (the main thread, waiting in join() inside main(),
    # is a third thread running Python code): ~1.33 s
    assert busy.get("train", 0) == pytest.approx(1333 * MS, rel=0.15), busy
    # AND load_data() gets none, though it ran as long
    assert busy.get("load_data", 0) == 0, busy
    # AND this process's GPU memory is recorded as a peak where the GPU was used
    assert memory.get("train") == 512 << 20
    # AND the per-node values sum (at the root) to the timeline's total busy
    # time: every busy interval went to some thread's function
    timeline = profile.timeline()
    total = sum(timeline["gpus"][0]["busy_ns"])
    index = [name for name, _, _ in profile.metrics()].index("gpu.busy_ns")
    _, everything = profile.node_metric(index)[0]
    assert total * 0.95 - 20 * MS <= everything <= total, (everything, total)
    # AND view --sort gpu shows a GPU column, train() first, within 80 columns
    view = pipegauge("view", "out", "--sort", "gpu")
    assert view.returncode == 0, view.stderr
    lines = view.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    assert lines[head].split()[-2:] == ["gpu", "function"]
    train = lines[head + 1]  # 1.33 s; main() has only its own thread's 1.07 s
    assert "(train)" in train and re.search(r" 1\.[2-5]\ds ", train), train
    assert all(len(line) <= 80 for line in lines)
