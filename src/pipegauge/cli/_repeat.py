"""``pipegauge run --repeat N``: the program run N times, each in a fresh
process (a fresh interpreter, so no warm caches carry over), recorded in the
history as one group that diff and check treat as N samples of one code."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid

from .._history_record import GROUP_ENV


def _child_options(own: list[str], output_dir: str | None, index: int) -> list[str]:
    """The run options for one repeat: without --repeat, with its own -o."""
    result: list[str] = []
    skip = False
    for token in own:
        if skip:
            skip = False
            continue
        if token in ("--repeat", "-o", "--output-dir"):
            skip = True
            continue
        if token.startswith(("--repeat=", "--output-dir=")) or (token.startswith("-o") and len(token) > 2):
            continue
        result.append(token)
    if output_dir is not None:
        result += ["-o", os.path.join(output_dir, f"repeat-{index}")]
    return result


def run_repeated(args: argparse.Namespace) -> int:
    own, target = args.run_tokens
    group = uuid.uuid4().hex[:12]
    env = dict(os.environ, **{GROUP_ENV: group})
    status = 0
    for index in range(1, args.repeat + 1):
        print(f"pipegauge: repeat {index} of {args.repeat} (group {group})", file=sys.stderr, flush=True)
        command = [sys.executable, "-m", "pipegauge", "run",
                   *_child_options(own, args.output_dir, index), *target, *args.program_args]
        completed = subprocess.run(command, env=env, check=False)
        status = completed.returncode if completed.returncode >= 0 else 128 - completed.returncode
        if status != 0:
            print(f"pipegauge: repeat {index} ended with status {status}; stopping the repeats",
                  file=sys.stderr)
            break
    else:
        where = " (not recorded: --no-history)" if args.history is False else ""
        print(f"pipegauge: {args.repeat} runs recorded as group {group}{where}", file=sys.stderr)
    return status
