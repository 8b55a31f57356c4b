"""JUnit XML for ``pipegauge check --junit``: one test suite, one test case
per compared function, a failure element for each gated regression."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from .._diff import DiffResult, FunctionDiff
from .._files import write_atomic


def write_junit(path: Path, result: DiffResult, judged: Sequence[FunctionDiff],
                failed: Sequence[FunctionDiff], *, metric: str, threshold: float) -> None:
    failing = {item.key for item in failed}
    suite = ET.Element("testsuite", name="pipegauge check", tests=str(len(judged)),
                       failures=str(len(failing)), errors="0", skipped="0")
    properties = ET.SubElement(suite, "properties")
    for name, value in (("base", result.base.label), ("current", result.current.label),
                        ("metric", metric), ("max_regression", f"{threshold:.4g}")):
        ET.SubElement(properties, "property", name=name, value=value)
    for item in judged:
        case = ET.SubElement(suite, "testcase", classname=item.file or "builtins", name=item.name)
        if item.key in failing:
            failure = ET.SubElement(case, "failure", type="regression",
                                    message=f"{item.label} regressed")
            failure.text = "; ".join(item.reasons)
        elif item.reasons:
            ET.SubElement(case, "system-out").text = "; ".join(item.reasons)
    ET.indent(suite)
    data = ET.tostring(suite, encoding="unicode", xml_declaration=False)
    write_atomic(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + data + "\n")
