"""Configuration files, PIPEGAUGE_* variables and `pipegauge config`; -v/-q,
the pipegauge logger and the progress line."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import child_env, pipegauge_command
from pipegauge import _config

PROGRAM = """\
def work(n):
    return sum(range(n))

for _ in range(50):
    work(1000)
"""


def config_rows(stdout: str) -> dict[str, tuple[str, str]]:
    """{key: (value, source)} from `pipegauge config` output."""
    rows = {}
    for line in stdout.splitlines()[1:]:
        key, value, source = line.split(maxsplit=2)
        rows[key] = (value, source)
    return rows


def make_repo(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)
    return root


# -- discovery --------------------------------------------------------------


def test_discovery_walks_up_to_the_repository_root(tmp_path: Path) -> None:
    # GIVEN a repository whose pyproject.toml has [tool.pipegauge], and a deep subdirectory
    repo = make_repo(tmp_path / "repo")
    (repo / "pyproject.toml").write_text('[tool.pipegauge]\nmin_percent = 2\n', encoding="utf-8")
    deep = repo / "a" / "b" / "c" / "d"
    deep.mkdir(parents=True)
    # WHEN settings are resolved five levels below it
    effective = _config.resolve(cwd=deep, environ={})
    # THEN the file is found and its value applies
    assert effective.file == (repo / "pyproject.toml").resolve()
    assert effective["min_percent"] == 2.0
    assert effective.sources["min_percent"] == str(repo / "pyproject.toml")


def test_discovery_stops_at_six_levels_and_at_the_repository_root(tmp_path: Path) -> None:
    # GIVEN a config file seven directories above the working directory (no .git between)
    (tmp_path / ".pipegauge.toml").write_text("min_percent = 3\n", encoding="utf-8")
    deep = tmp_path.joinpath("1", "2", "3", "4", "5", "6")
    deep.mkdir(parents=True)
    # THEN from six levels below it is out of reach, from five it is found
    assert _config.discover(deep) is None
    assert _config.discover(deep.parent) == (tmp_path / ".pipegauge.toml").resolve()
    # AND a repository root in between stops the search
    make_repo(tmp_path / "1" / "2")
    assert _config.discover(tmp_path / "1" / "2" / "3") is None


def test_nearest_file_wins_and_pipegauge_toml_before_pyproject(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / ".pipegauge.toml").write_text("min_percent = 1\n", encoding="utf-8")
    sub = repo / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text("[tool.pipegauge]\nmin_percent = 4\n", encoding="utf-8")
    (sub / ".pipegauge.toml").write_text("min_percent = 5\n", encoding="utf-8")
    assert _config.resolve(cwd=sub, environ={})["min_percent"] == 5.0
    (sub / ".pipegauge.toml").unlink()
    assert _config.resolve(cwd=sub, environ={})["min_percent"] == 4.0
    # a pyproject.toml without [tool.pipegauge] does not count
    (sub / "pyproject.toml").write_text("[project]\nname = 'pipegauge-demo'\n", encoding="utf-8")
    assert _config.resolve(cwd=sub, environ={})["min_percent"] == 1.0


def test_yaml_file_when_pyyaml_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    make_repo(tmp_path)
    (tmp_path / ".pipegauge.yaml").write_text("ignore_modules: [vendor.*, 'gen_*']\nbuiltins: false\n",
                                              encoding="utf-8")
    effective = _config.resolve(cwd=tmp_path, environ={})
    assert effective["ignore_modules"] == ("vendor.*", "gen_*")
    assert effective.options_kwargs()["builtins"] is False


# -- precedence and validation --------------------------------------------------


def test_precedence_explicit_over_environment_over_file_over_default(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / ".pipegauge.toml").write_text(
        'min_percent = 1\nmin_time_ms = 7\noutput_dir = "runs/here"\ncollapse_stdlib = false\n',
        encoding="utf-8")
    env = {"PIPEGAUGE_MIN_PERCENT": "2", "PIPEGAUGE_OUTPUT_DIR": "/tmp/from-env"}
    effective = _config.resolve({"min_percent": 3.0, "include_stdlib": None}, cwd=tmp_path, environ=env)
    assert (effective["min_percent"], effective.sources["min_percent"]) == (3.0, "command line")
    assert effective["output_dir"] == "/tmp/from-env"
    assert effective.sources["output_dir"] == "environment PIPEGAUGE_OUTPUT_DIR"
    assert effective["min_time_ms"] == 7.0
    assert effective["correct_overhead"] is True and effective.sources["correct_overhead"] == "default"
    # collapse_stdlib = false in the file means Options.include_stdlib = True
    assert effective.options_kwargs()["include_stdlib"] is True
    # a relative path in a file is relative to the file
    without_env = _config.resolve(cwd=tmp_path, environ={})
    assert without_env["output_dir"] == str(tmp_path / "runs" / "here")


def test_explicit_config_path_wins_over_discovery(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / ".pipegauge.toml").write_text("min_percent = 1\n", encoding="utf-8")
    other = tmp_path / "elsewhere.toml"
    other.write_text("min_percent = 9\n", encoding="utf-8")
    assert _config.resolve(config=other, cwd=tmp_path, environ={})["min_percent"] == 9.0


def test_unknown_keys_and_bad_values_warn_with_file_and_key(tmp_path: Path) -> None:
    make_repo(tmp_path)
    path = tmp_path / ".pipegauge.toml"
    path.write_text('colapse_stdlib = true\nmin_percent = "lots"\ntimeline_hz = -1\nbuiltins = 1\n',
                    encoding="utf-8")
    effective = _config.resolve(cwd=tmp_path, environ={"PIPEGAUGE_MIN_TIME_MS": "soon"})
    text = "\n".join(effective.warnings)
    assert f"{path}: unknown key 'colapse_stdlib'" in text
    assert f"{path}: key 'min_percent': expected a number" in text
    assert f"{path}: key 'timeline_hz': must be more than 0" in text
    assert f"{path}: key 'builtins': expected true or false" in text
    assert "PIPEGAUGE_MIN_TIME_MS: expected a number, got 'soon'" in text
    assert len(effective.warnings) == 5
    # bad values leave the defaults
    assert effective["min_percent"] == 0.5 and effective["builtins"] is True


def test_broken_file_is_one_warning(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / ".pipegauge.toml").write_text("min_percent = = 1\n", encoding="utf-8")
    effective = _config.resolve(cwd=tmp_path, environ={})
    assert len(effective.warnings) == 1
    assert "not valid TOML" in effective.warnings[0] and ".pipegauge.toml" in effective.warnings[0]


# -- through the CLI and the API -------------------------------------------------


def test_pipegauge_config_prints_values_and_sources(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.pipegauge]\nbuiltins = false\nbogus = 1\n'
                                             'sample_size = 1000\n', encoding="utf-8")
    completed = subprocess.run(pipegauge_command("config"), cwd=tmp_path, capture_output=True, text=True,
                               env=child_env({"PIPEGAUGE_MIN_PERCENT": "1.5"}), check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[0] == f"configuration file: {(tmp_path / 'pyproject.toml').resolve()}"
    rows = config_rows(completed.stdout)
    assert rows["builtins"] == ("false", str((tmp_path / "pyproject.toml").resolve()))
    assert rows["min_percent"] == ("1.5", "environment PIPEGAUGE_MIN_PERCENT")
    assert rows["exact_builtins"] == ("false", "default")
    assert rows["sample_size"] == ("1000", str((tmp_path / "pyproject.toml").resolve()))
    assert rows["sampling_hz"] == ("1000", "default")
    assert set(rows) == {setting.key for setting in _config.SETTINGS}
    assert completed.stderr.strip() == (f"pipegauge: warning: {(tmp_path / 'pyproject.toml').resolve()}: "
                                        "unknown key 'bogus' (ignored)")


def test_config_file_drives_run_and_cli_overrides_it(tmp_path: Path) -> None:
    # GIVEN a config that turns builtins off and names an output directory
    make_repo(tmp_path)
    (tmp_path / ".pipegauge.toml").write_text('builtins = false\noutput_dir = "out"\n', encoding="utf-8")
    (tmp_path / "prog.py").write_text(PROGRAM, encoding="utf-8")
    # WHEN pipegauge run uses it
    first = subprocess.run(pipegauge_command("run", "prog.py"), cwd=tmp_path, capture_output=True,
                           text=True, env=child_env(), check=False)
    assert first.returncode == 0, first.stderr
    assert _load_options(tmp_path / "out")["builtins"] is False
    # AND the command line wins over the file
    second = subprocess.run(pipegauge_command("run", "--config", str(tmp_path / ".pipegauge.toml"),
                                              "-o", "cli-out", "prog.py"),
                            cwd=tmp_path, capture_output=True, text=True,
                            env=child_env({"PIPEGAUGE_BUILTINS": "1"}), check=False)
    assert second.returncode == 0, second.stderr
    assert _load_options(tmp_path / "cli-out")["builtins"] is True  # environment over file
    assert _load_options(tmp_path / "cli-out")["output_dir"] == "cli-out"


def _load_options(run_dir: Path) -> dict:
    import pipegauge

    return json.loads(pipegauge.Run.load(run_dir / "profile.pgprof").meta["options"])


def test_start_config_argument(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(f'output_dir = "{tmp_path / "api-out"}"\ncorrect_overhead = false\n', encoding="utf-8")
    script = tmp_path / "prog.py"
    script.write_text(f"import pipegauge\npipegauge.start(config={str(config)!r})\n" + PROGRAM,
                      encoding="utf-8")
    completed = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                               text=True, env=child_env(), check=False)
    assert completed.returncode == 0, completed.stderr
    options = _load_options(tmp_path / "api-out")
    assert options["correct_overhead"] is False


def test_missing_config_file_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM, encoding="utf-8")
    completed = subprocess.run(pipegauge_command("run", "--config", "nope.toml", "prog.py"), cwd=tmp_path,
                               capture_output=True, text=True, env=child_env(), check=False)
    assert completed.returncode == 2
    assert completed.stderr.strip() == "pipegauge: error: no such configuration file: 'nope.toml'"


# -- logging ----------------------------------------------------------------------


def test_verbose_shows_profiler_lines_and_quiet_hides_warnings(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / ".pipegauge.toml").write_text("bogus = 1\n", encoding="utf-8")
    (tmp_path / "prog.py").write_text(PROGRAM, encoding="utf-8")

    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(pipegauge_command("run", *flags, "-o", "out", "prog.py"), cwd=tmp_path,
                              capture_output=True, text=True, env=child_env(), check=False)

    plain, verbose, quiet = run(), run("-v"), run("-q")
    warning = "pipegauge: warning: "
    assert warning in plain.stderr and "pipegauge: info: tracer started" not in plain.stderr
    assert "pipegauge: info: tracer started, backend" in verbose.stderr
    assert warning not in quiet.stderr
    # the run's log keeps the info lines whatever the level
    log = (tmp_path / "out" / "pipegauge.log").read_text(encoding="utf-8")
    assert "tracer started, backend" in log


def test_progress_line_on_a_terminal(tmp_path: Path) -> None:
    # GIVEN a program that runs for about 3.5 s, with stderr on a pseudo-terminal
    (tmp_path / "prog.py").write_text(
        "import time\n"
        "def tick():\n    return 1\n"
        "end = time.monotonic() + 3.5\n"
        "while time.monotonic() < end:\n    tick()\n", encoding="utf-8")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(pipegauge_command("run", "-o", "out", "prog.py"), cwd=tmp_path,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal,
                               env=child_env({"TERM": "xterm"}))
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(controller)
    text = output.decode("utf-8", "replace")
    # THEN a progress line was drawn with elapsed time, a call rate and memory, and erased
    assert "\r\x1b[Kpipegauge: 0:0" in text, text
    line = text.split("\r\x1b[K")[1]
    assert " elapsed, " in line and " calls/s, RSS " in line, line
    rate = line.split(" elapsed, ")[1].split(" calls/s")[0]
    assert rate != "0", line  # tick() is called in a tight loop
    assert process.returncode == 0


def test_no_progress_line_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text("import time\ntime.sleep(2.5)\n", encoding="utf-8")
    completed = subprocess.run(pipegauge_command("run", "-o", "out", "prog.py"), cwd=tmp_path,
                               capture_output=True, text=True, env=child_env(), check=False)
    assert completed.returncode == 0
    assert "calls/s" not in completed.stderr
