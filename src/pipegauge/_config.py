"""Settings from configuration files and the environment: one schema, one resolver.

Sources, strongest first: explicit values (CLI options, keyword arguments of
``start``/``profile``), environment variables ``PIPEGAUGE_<KEY>``, one
configuration file, the defaults. The file is ``--config PATH`` /
``start(config=PATH)`` when given, else the first of ``.pipegauge.toml``,
``.pipegauge.yaml`` (``.yml``; only when PyYAML is importable) and
``pyproject.toml`` with a ``[tool.pipegauge]`` table found in the working
directory or its parents, up to the repository root (a directory holding
``.git``) and at most six directories.

A bad file or value never stops the program: each unknown key and each bad
value is one warning naming the file (or variable) and the key, and the value
is ignored. Some settings belong to features that land separately (see
``Setting.pending``): they are recognised and validated here, and take effect
when their feature does.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import USAGE_EXIT, PipegaugeError

log = logging.getLogger("pipegauge")

MAX_LEVELS = 6
"""Directories searched for a configuration file: the working directory and
up to five parents (fewer when the repository root comes first)."""

FILE_NAMES = (".pipegauge.toml", ".pipegauge.yaml", ".pipegauge.yml", "pyproject.toml")
ENV_PREFIX = "PIPEGAUGE_"


class ConfigValueError(ValueError):
    """A value that does not fit its setting; the message says why."""


# -- value parsers: (value from a file, or a string from the environment) -> value


def _bool(value: Any, from_env: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_env and isinstance(value, str):
        text = value.strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
    raise ConfigValueError(f"expected true or false, got {value!r}")


def _number(value: Any, from_env: bool, *, minimum: float, integer: bool, open_low: bool) -> float | int:
    if from_env and isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            raise ConfigValueError(f"expected a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        kind = "an integer" if integer else "a number"
        raise ConfigValueError(f"expected {kind}, got {value!r}")
    if value < minimum or (open_low and value == minimum) or value != value:
        bound = f"more than {minimum:g}" if open_low else f"at least {minimum:g}"
        raise ConfigValueError(f"must be {bound}, got {value!r}")
    return int(value) if integer else float(value)


def _non_negative(value: Any, from_env: bool) -> float:
    return float(_number(value, from_env, minimum=0.0, integer=False, open_low=False))


def _positive(value: Any, from_env: bool) -> float:
    return float(_number(value, from_env, minimum=0.0, integer=False, open_low=True))


def _positive_int(value: Any, from_env: bool) -> int:
    return int(_number(value, from_env, minimum=1, integer=True, open_low=False))


def _percent(value: Any, from_env: bool) -> float:
    number = _non_negative(value, from_env)
    if number > 100:
        raise ConfigValueError(f"must be between 0 and 100, got {value!r}")
    return number


def _lines_threshold(value: Any, from_env: bool) -> float:
    number = _non_negative(value, from_env)
    if number > 1.0:
        raise ConfigValueError(f"expected a share between 0 and 1 (0.05 = 5%), got {value!r}")
    return float(number)


def _timeline_hz(value: Any, from_env: bool) -> float:
    number = _positive(value, from_env)
    if number > 10000:
        raise ConfigValueError(f"must be at most 10000, got {value!r}")
    return number


def _text(value: Any, from_env: bool) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigValueError(f"expected a non-empty string, got {value!r}")
    return value


def _patterns(value: Any, from_env: bool) -> tuple[str, ...]:
    """A list of strings; a single string (or, from the environment, a
    comma-separated string) is accepted too."""
    if isinstance(value, str):
        items = value.split(",") if from_env else [value]
        return tuple(item.strip() for item in items if item.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigValueError(f"expected a list of strings, got {value!r}")


@dataclass(frozen=True)
class Setting:
    """One recognised key."""

    key: str  # the name in files; PIPEGAUGE_<KEY upper> in the environment
    parse: Callable[[Any, bool], Any]  # validates and normalises; raises ConfigValueError
    default: Any
    help: str
    option: str | None = None  # the Options field it sets, when it maps to one
    invert: bool = False  # the Options field is the negation (collapse_stdlib)
    path: bool = False  # relative paths in a file are relative to the file's directory
    pending: str | None = None  # the feature that makes it take effect, when not yet built

    @property
    def env_name(self) -> str:
        return ENV_PREFIX + self.key.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("output_dir", _text, None, "run directory (default .pipegauge/runs/<stamp>-<name>)",
            option="output_dir", path=True),
    Setting("ignore_modules", _patterns, (), "fnmatch patterns of modules folded into their caller",
            option="ignore_modules"),
    Setting("collapse_stdlib", _bool, True, "fold stdlib and site-packages code into its caller",
            option="include_stdlib", invert=True),
    Setting("builtins", _bool, True, "attribute time to builtins and C methods", option="builtins"),
    Setting("exact_builtins", _bool, False, "3.12+: keep every call site watched for builtins",
            option="exact_builtins"),
    Setting("correct_overhead", _bool, True, "subtract the calibrated profiler cost",
            option="correct_overhead"),
    Setting("subprocess", _bool, False, "also profile Python programs started with subprocess",
            option="subprocess"),
    Setting("min_time_ms", _non_negative, 0.0, "view: hide functions whose total time is below this"),
    Setting("min_percent", _percent, 0.5, "view --tree: hide call paths below this share of the run"),
    Setting("findings_min_percent", _percent, 2.0,
            "findings: analyse functions taking at least this share of the run"),
    Setting("findings_dominance_percent", _percent, 30.0,
            "findings: a function or stage above this share of the run gets a finding"),
    Setting("findings_complexity", _positive_int, 15,
            "findings: report cyclomatic complexity above this"),
    Setting("findings_per_record_calls", _positive_int, 100,
            "findings: a function called this often runs per record"),
    Setting("memory", _bool, True, "attribute memory allocations to functions", option="memory"),
    Setting("cpu", _bool, True, "attribute CPU time to functions", option="cpu"),
    Setting("io", _bool, True, "attribute file and socket I/O to functions", option="io"),
    Setting("gpu", _bool, True, "read NVIDIA GPUs (NVML) on the resource timeline", option="gpu"),
    Setting("timeline", _bool, True, "record the resource timeline", option="timeline"),
    Setting("timeline_hz", _timeline_hz, 20.0, "timeline sampling rate, Hz (at most 10000)",
            option="timeline_hz"),
    Setting("lines", _bool, False, "line heat for hot or named functions (3.12+)", option="lines"),
    Setting("lines_for", _patterns, (), "qualified-name patterns that get line heat (implies lines)",
            option="lines_for"),
    Setting("lines_threshold", _lines_threshold, 0.05,
            "own-time share above which a function gets line heat (0 = only lines_for)",
            option="lines_threshold"),
    Setting("sampling_hz", _timeline_hz, 1000.0, "sampling mode (--mode sample): samples per second (at most 10000)",
            option="sample_hz"),
    Setting("history", _bool, True, "record runs in the history store", option="history"),
    Setting("history_path", _text, None, "history database (default .pipegauge/history.sqlite)",
            option="history_path", path=True),
    Setting("regression_threshold", _non_negative, 0.05,
            "check: tolerated relative slow-down (0.05 = 5%)"),
    Setting("sample_size", _positive_int, None,
            "input size of runs without one (scale.n), for 'pipegauge scale/forecast'"),
    Setting("expected_size", _positive_int, None,
            "input size 'pipegauge scale/forecast' forecast for (default of --target)"),
)
BY_KEY: dict[str, Setting] = {setting.key: setting for setting in SETTINGS}
OPTION_TO_KEY: dict[str, str] = {setting.option: setting.key for setting in SETTINGS if setting.option}


@dataclass
class Effective:
    """The settings in effect and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)  # key -> value
    sources: dict[str, str] = field(default_factory=dict)  # key -> "default", "file PATH", ...
    file: Path | None = None  # the configuration file read, if any
    warnings: list[str] = field(default_factory=list)  # one line each

    def options_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``Options.create`` for the settings that map
        to an option."""
        kwargs: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.option is not None:
                value = self.values[setting.key]
                kwargs[setting.option] = (not value) if setting.invert else value
        return kwargs

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


# -- files ----------------------------------------------------------------


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    with path.open("rb") as stream:
        return tomllib.load(stream)


def _yaml_available() -> bool:
    try:
        import yaml  # noqa: F401
    except ImportError:
        return False
    return True


def _read_file(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the pipegauge table, None) or (None, why it cannot be used). The table
    is None without an error for a pyproject.toml without [tool.pipegauge]."""
    try:
        if path.suffix in {".yaml", ".yml"}:
            import yaml

            with path.open("r", encoding="utf-8") as stream:
                data = yaml.safe_load(stream)
            data = {} if data is None else data
        else:
            data = _load_toml(path)
    except OSError as exc:
        return None, f"cannot read it: {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - TOML/YAML syntax errors have no common base
        return None, f"not valid {'YAML' if path.suffix != '.toml' else 'TOML'}: {' '.join(str(exc).split())}"
    if path.name == "pyproject.toml":
        tool = data.get("tool", {}) if isinstance(data, dict) else {}
        table = tool.get("pipegauge") if isinstance(tool, dict) else None
        if table is None:
            return None, None
        data = table
    if not isinstance(data, dict):
        return None, "expected a table of settings"
    return data, None


def _has_settings(path: Path) -> bool:
    if not path.is_file():
        return False
    if path.name in {".pipegauge.yaml", ".pipegauge.yml"} and not _yaml_available():
        log.warning(f"{path}: ignored: PyYAML is not installed")
        return False
    if path.name == "pyproject.toml":
        try:
            return "pipegauge" in path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    return True


def discover(start: Path | None = None) -> Path | None:
    """The configuration file that applies in start (default: the working
    directory), or None."""
    directory = (start if start is not None else Path.cwd()).resolve()
    for _ in range(MAX_LEVELS):
        for name in FILE_NAMES:
            candidate = directory / name
            if _has_settings(candidate):
                if name != "pyproject.toml" or _read_file(candidate)[0] is not None:
                    return candidate
        if (directory / ".git").exists() or directory.parent == directory:
            return None
        directory = directory.parent
    return None


# -- resolution -------------------------------------------------------------


def _apply(effective: Effective, items: Iterable[tuple[str, Any]], origin: str, *,
           from_env: bool, base: Path | None) -> None:
    for key, raw in items:
        setting = BY_KEY.get(key)
        where = f"{origin}: " if from_env else f"{origin}: key {key!r}: "
        if setting is None:
            effective.warnings.append(f"{origin}: unknown key {key!r} (ignored)")
            continue
        try:
            value = setting.parse(raw, from_env)
        except ConfigValueError as exc:
            effective.warnings.append(f"{where}{exc} (ignored)")
            continue
        if setting.path and base is not None and value is not None and not os.path.isabs(value):
            value = os.path.normpath(os.path.join(base, value))
        effective.values[key] = value
        effective.sources[key] = origin if not from_env else f"environment {origin}"


def resolve(explicit: Mapping[str, Any] | None = None, *, config: str | os.PathLike[str] | None = None,
            cwd: Path | None = None, environ: Mapping[str, str] | None = None,
            explicit_source: str = "command line") -> Effective:
    """The effective settings. explicit: keys (or Options field names) given
    on the command line or as keyword arguments; None values are not given.
    A config path that does not exist is a PipegaugeError (usage)."""
    effective = Effective()
    for setting in SETTINGS:
        effective.values[setting.key] = setting.default
        effective.sources[setting.key] = "default"
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise PipegaugeError(f"no such configuration file: {str(path)!r}", USAGE_EXIT)
    else:
        path = discover(cwd)
    if path is not None:
        effective.file = path.resolve()
        table, error = _read_file(path)
        if error is not None:
            effective.warnings.append(f"{path}: {error} (file ignored)")
        elif table is not None:
            _apply(effective, table.items(), str(path), from_env=False, base=effective.file.parent)
    env = os.environ if environ is None else environ
    env_items = [(setting.env_name, setting.key) for setting in SETTINGS if setting.env_name in env]
    for name, key in env_items:
        _apply(effective, [(key, env[name])], name, from_env=True, base=None)
    for name, value in (explicit or {}).items():
        if value is None:
            continue
        key = OPTION_TO_KEY.get(name, name)
        setting = BY_KEY.get(key)
        if setting is None:
            continue
        if setting.invert and name == setting.option:
            value = not value
        effective.values[key] = value
        effective.sources[key] = explicit_source
    return effective


def report_warnings(effective: Effective) -> None:
    for line in effective.warnings:
        log.warning(line)


def format_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(repr(item) for item in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def build_options(explicit: Mapping[str, Any], *, config: str | os.PathLike[str] | None = None,
                  explicit_source: str = "argument") -> tuple[Any, Effective]:
    """(Options, Effective) for explicit keyword arguments (Options field
    names; ``name`` passes through) over environment, file and defaults.
    Warnings go to the ``pipegauge`` logger."""
    from ._options import Options  # local: keeps this module free of the tracer's imports

    effective = resolve(explicit, config=config, explicit_source=explicit_source)
    report_warnings(effective)
    kwargs = effective.options_kwargs()
    for name, value in explicit.items():
        if name not in OPTION_TO_KEY and value is not None:
            kwargs[name] = value  # name, and options without a setting
    return Options.create(**kwargs), effective
