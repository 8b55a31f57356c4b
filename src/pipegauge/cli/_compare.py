"""Shared by ``diff``, ``check`` and ``view --diff``: the history option,
the statistics options, and turning two RUN arguments into a comparison."""

from __future__ import annotations

import argparse

from .._diff import DiffResult, Settings, compare
from .._errors import UsageError
from .._sides import Resolver


def add_history_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history-path", metavar="FILE",
                        help="the history database (default .pipegauge/history.sqlite)")


def percent(text: str) -> float:
    """'10%', '10' or '0.1x'-free: a relative change as a fraction (10% -> 0.1)."""
    raw = text.strip()
    try:
        value = float(raw[:-1] if raw.endswith("%") else raw) / 100.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be between 0% and 10000%: {text!r}")
    return value


def add_statistics_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument("--min-effect", type=percent, default=defaults.min_effect, metavar="P%",
                        help=f"never flag a change smaller than this (default {defaults.min_effect:.0%})")
    parser.add_argument("--alpha", type=float, default=defaults.alpha, metavar="Q",
                        help=f"false discovery rate across functions (default {defaults.alpha})")


def settings_from(args: argparse.Namespace) -> Settings:
    defaults = Settings()
    alpha = getattr(args, "alpha", defaults.alpha)
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"--alpha must be between 0 and 1, not {alpha}")
    return Settings(alpha=alpha, min_effect=getattr(args, "min_effect", defaults.min_effect))


def compare_specs(args: argparse.Namespace, base_spec: str, current_spec: str) -> DiffResult:
    """Resolve both sides (current first: 'baseline' means its program's)
    and compare them, learning noise from the program's history."""
    resolver = Resolver(args.history_path)
    try:
        current = resolver.side(current_spec)
        base = resolver.side(base_spec, program=current.program)
        clusters = resolver.clusters(current.program, (base, current))
    finally:
        resolver.close()
    return compare(base, current, settings=settings_from(args), history_clusters=clusters)
