"""The notebook magics under a real IPython shell (in a child interpreter,
so the profiler's state stays out of the test process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import child_env

pytest.importorskip("IPython")

SESSION = r'''
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "pipegauge")
shell.run_cell("def step(n):\n    return n * 2\n\ndef job(k):\n    return sum(step(i) for i in range(k))\n")
out = {}

with capture_output() as captured:
    result = shell.run_cell("%%pipegauge -o cellrun --name mycell\nfor _ in range(3):\n    job(40)\n")
out["cell_ok"] = result.success
out["cell_error"] = repr(result.error_in_exec)
out["cell_html"] = [o.data.get("text/html", "") for o in captured.outputs]
out["cell_text"] = [o.data.get("text/plain", "") for o in captured.outputs]
run = shell.user_ns["_pipegauge_run"]
out["cell_calls"] = {s.name: s.calls for s in run.stats()}

with capture_output() as captured:
    result = shell.run_cell("line_run = %pipegauge job(25)")
out["line_ok"] = result.success
out["line_html"] = [o.data.get("text/html", "") for o in captured.outputs]
out["line_calls"] = {s.name: s.calls for s in shell.user_ns["line_run"].stats()}

result = shell.run_cell("%%pipegauge --bogus\npass\n")
out["bad_ok"] = result.success
out["bad_error"] = str(result.error_in_exec)
print(json.dumps(out))
'''


def test_line_and_cell_magics_render_the_report_inline(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, "-c", SESSION], cwd=tmp_path, capture_output=True,
                               text=True, env=child_env(), timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    # the cell magic profiled the cell: 3 x 40 calls of step
    assert out["cell_ok"], out["cell_error"]
    assert out["cell_calls"]["step"] == 120 and out["cell_calls"]["job"] == 3
    html = "".join(out["cell_html"])
    assert html.startswith("<iframe srcdoc=") and "&lt;html" in html.lower()
    assert "mycell" in html  # the run's name is in the embedded report
    assert any("top" in text and "functions by self time" in text for text in out["cell_text"])
    assert (tmp_path / "cellrun" / "profile.pgprof").is_file()
    # the line magic profiled one statement and returned its Run
    assert out["line_ok"]
    assert out["line_calls"]["step"] == 25
    assert "".join(out["line_html"]).startswith("<iframe srcdoc=")
    # a bad option is an error of that cell only
    assert not out["bad_ok"] and "unknown option '--bogus'" in out["bad_error"]
