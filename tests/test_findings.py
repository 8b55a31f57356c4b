"""Findings: small pipelines, each with one anti-pattern in a hot function and
the same pattern in a cold one, profiled for real (``pipegauge run`` in a
subprocess); the hot one must be reported with the right rule and line, the
cold one not (or below every hot finding). Clean code reports nothing but a
legitimate dominance. Also the surfaces: ``view --findings``, the JSON
export, summary.json and the HTML report (in Chromium)."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, assert_one_error_line, load_summary

from pipegauge import _core, _options

HAS_LINE_HEAT = hasattr(_core.Profile, "line_heat")
CHROMIUM = os.environ.get("PIPEGAUGE_CHROMIUM", "/usr/bin/chromium")

# One program per rule. "# HOT" marks the line the hot finding must point
# at, "# COLD" the same pattern in a function that takes a tiny share.
PROGRAMS: dict[str, str] = {
    "nested-loop": """
        def pairs(rows):
            n = 0
            for a in rows:
                for b in rows:  # HOT
                    if a < b:
                        n += 1
            return n

        def pairs_small(rows):
            n = 0
            for a in rows:
                for b in rows:  # COLD
                    if a < b:
                        n += 1
            return n

        def main():
            pairs(list(range(700)))
            pairs_small(list(range(8)))
    """,
    "sliding-window": """
        def moving_average(values, w):
            out = []
            for i in range(w, len(values)):
                out.append(sum(values[i - w:i]) / w)  # HOT
            return out

        def moving_average_small(values, w):
            out = []
            for i in range(w, len(values)):
                out.append(sum(values[i - w:i]) / w)  # COLD
            return out

        def main():
            moving_average(list(range(30000)), 300)
            moving_average_small(list(range(40)), 4)
    """,
    "list-membership": """
        def select(items, n):
            wanted = [i * 3 for i in range(n)]
            kept = 0
            for x in items:
                if x in wanted:  # HOT
                    kept += 1
            return kept

        def select_small(items, n):
            wanted = [i * 3 for i in range(n)]
            kept = 0
            for x in items:
                if x in wanted:  # COLD
                    kept += 1
            return kept

        def main():
            select(range(6000), 2000)
            select_small(range(10), 10)
    """,
    "concat-growth": """
        def render(n):
            text = ""
            for i in range(n):
                text = text + str(i) + ","  # HOT
            return len(text)

        def collect(n):
            items = []
            for i in range(n):
                items = items + [i]  # HOT
            return items

        def render_small(n):
            text = ""
            for i in range(n):
                text = text + str(i) + ","  # COLD
            return len(text)

        def main():
            render(8000)
            collect(4000)
            render_small(5)
    """,
    "array-growth": """
        class Arrays:
            # a stand-in for numpy: append copies the whole array, as numpy's does
            def append(self, array, value):
                return array + [value]

        np = Arrays()

        def accumulate(n):
            acc = []
            for i in range(n):
                acc = np.append(acc, i)  # HOT
            return acc

        def accumulate_small(n):
            acc = []
            for i in range(n):
                acc = np.append(acc, i)  # COLD
            return acc

        def main():
            accumulate(6000)
            accumulate_small(5)
    """,
    "row-wise-pandas": """
        class Frame:
            # a stand-in for a DataFrame: one dict per row, as iterrows builds a Series
            def __init__(self, rows):
                self.rows = rows

            def iterrows(self):
                for i, row in enumerate(self.rows):
                    yield i, dict(row)

        def revenue(frame):
            total = 0.0
            for _i, row in frame.iterrows():  # HOT
                total += row["price"] * row["qty"] * (1.0 - row["discount"])
            return total

        def revenue_small(frame):
            total = 0.0
            for _i, row in frame.iterrows():  # COLD
                total += row["price"] * row["qty"]
            return total

        def main():
            rows = [{"price": i * 0.5, "qty": i % 7, "discount": 0.1} for i in range(60000)]
            revenue(Frame(rows))
            revenue_small(Frame(rows[:3]))
    """,
    "per-record-setup": """
        import re

        def parse(line):
            pattern = re.compile(r"(\\w+)=(\\d+)")  # HOT
            return {key: int(value) for key, value in pattern.findall(line)}

        def parse_small(line):
            pattern = re.compile(r"(\\w+)=(\\d+)")  # COLD
            return {key: int(value) for key, value in pattern.findall(line)}

        def main():
            for i in range(20000):
                parse(f"a={i} b={i * 2} c=3")
            for i in range(3):
                parse_small(f"a={i}")
    """,
    "complexity": """
        def classify(x):  # HOT
            if x % 2 == 0 and x % 3 == 0:
                kind = 1
            elif x % 5 == 0 or x % 7 == 0:
                kind = 2
            elif x % 11 == 0:
                kind = 3
            elif x % 13 == 0:
                kind = 4
            elif x % 17 == 0:
                kind = 5
            elif x % 19 == 0:
                kind = 6
            elif x % 23 == 0:
                kind = 7
            elif x % 29 == 0:
                kind = 8
            elif x % 31 == 0:
                kind = 9
            elif x % 37 == 0:
                kind = 10
            elif x % 41 == 0:
                kind = 11
            elif x % 43 == 0:
                kind = 12
            elif x % 47 == 0:
                kind = 13
            else:
                kind = 0
            return kind if x > 0 else -kind

        def classify_small(x):  # COLD
            if x % 2 == 0 and x % 3 == 0:
                kind = 1
            elif x % 5 == 0 or x % 7 == 0:
                kind = 2
            elif x % 11 == 0:
                kind = 3
            elif x % 13 == 0:
                kind = 4
            elif x % 17 == 0:
                kind = 5
            elif x % 19 == 0:
                kind = 6
            elif x % 23 == 0:
                kind = 7
            elif x % 29 == 0:
                kind = 8
            elif x % 31 == 0:
                kind = 9
            elif x % 37 == 0:
                kind = 10
            elif x % 41 == 0:
                kind = 11
            elif x % 43 == 0:
                kind = 12
            elif x % 47 == 0:
                kind = 13
            else:
                kind = 0
            return kind if x > 0 else -kind

        def main():
            for x in range(60000):
                classify(x)
            classify_small(1)
    """,
    "row-wise-pandas/apply": """
        class Frame:
            # a stand-in for a DataFrame: apply(axis=1) calls func once per row
            def __init__(self, rows):
                self.rows = rows

            def apply(self, func, axis=0):
                return [func(dict(row)) for row in self.rows]

        def price(row):
            return row["price"] * row["qty"]

        def totals(frame):
            return frame.apply(price, axis=1)  # HOT

        def totals_small(frame):
            return frame.apply(price, axis=1)  # COLD

        def main():
            rows = [{"price": i * 0.5, "qty": i % 7} for i in range(60000)]
            totals(Frame(rows))
            totals_small(Frame(rows[:2]))
    """,
    "array-growth/dataframe": """
        class Frame:
            # a stand-in for a DataFrame: append and concat copy every row
            def __init__(self, rows):
                self.rows = rows

            def append(self, row):
                return Frame(self.rows + [row])

        class Pandas:
            def concat(self, frames):
                return Frame([row for frame in frames for row in frame.rows])

        pd = Pandas()

        def build(n):
            df = Frame([])
            for i in range(n):
                df = df.append({"i": i})  # HOT
            return df

        def build_concat(n):
            df = Frame([])
            for i in range(n):
                df = pd.concat([df, Frame([{"i": i}])])  # HOT
            return df

        def build_small(n):
            df = Frame([])
            for i in range(n):
                df = df.append({"i": i})  # COLD
            return df

        def main():
            build(3000)
            build_concat(1500)
            build_small(3)
    """,
}

FOOTER = """
    if __name__ == "__main__":
        main()
"""


def marked_lines(source: str, marker: str) -> list[int]:
    return [number for number, text in enumerate(source.splitlines(), start=1)
            if text.rstrip().endswith(marker)]


def profile_program(pipegauge, workdir: Path, body: str, *extra: str) -> tuple[Path, Path, str]:
    """Write the program, run it under `pipegauge run`; (run dir, script, source)."""
    source = textwrap.dedent(body) + textwrap.dedent(FOOTER)
    script = workdir / "prog.py"
    script.write_text(source, encoding="utf-8")
    run_dir = workdir / "run"
    result = pipegauge("run", "-o", str(run_dir), *extra, "prog.py")
    assert result.returncode == 0, result.stderr
    return run_dir, script, source


def exported(pipegauge, run_dir: Path) -> dict:
    result = pipegauge("export", str(run_dir), "--format", "json", "-o", "-")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- one test per rule: hot reported at its line, cold not -------------------
@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_hot_pattern_reported_cold_pattern_not(program, pipegauge, workdir):
    # GIVEN a pipeline with the pattern in a hot and in a cold function
    rule = program.split("/")[0]
    run_dir, script, source = profile_program(pipegauge, workdir, PROGRAMS[program])
    hot_lines, cold_lines = marked_lines(source, "# HOT"), marked_lines(source, "# COLD")
    # WHEN its findings are exported
    findings = exported(pipegauge, run_dir)["findings"]
    # THEN every hot pattern is reported with its rule, file and line
    ours = [f for f in findings if f["rule"] == rule and f["file"] == str(script)]
    assert sorted(f["line"] for f in ours if f["line"] in hot_lines) == hot_lines, findings
    hot = [f for f in ours if f["line"] in hot_lines]
    for finding in hot:
        assert finding["evidence"]["share"] >= 0.02
        assert 0 < finding["evidence"]["impact_s"] <= finding["evidence"]["total_s"] + 1e-9
        assert finding["why"] and finding["suggestion"]
    # AND the same pattern in the cold function is not reported
    assert not [f for f in findings if f["line"] in cold_lines], findings
    # AND the ranking puts the hot findings first, by time at stake
    assert findings[0]["line"] in hot_lines or findings[0]["rule"] == "dominance", findings[0]
    impacts = [f["evidence"]["impact_s"] for f in findings if f["rule"] != "dead-code"]
    assert impacts == sorted(impacts, reverse=True)
    assert [f["rank"] for f in findings] == list(range(1, len(findings) + 1))


def test_per_record_setup_inside_a_loop(pipegauge, workdir):
    # GIVEN open() and json.loads() per record inside a hot loop
    (workdir / "data.jsonl").write_text("".join(f'{{"v": {i}}}\n' for i in range(3000)))
    body = """
        import json

        def load(path, n):
            total = 0
            for i in range(n):
                with open(path) as stream:  # HOT
                    first = stream.readline()
                total += json.loads(first)["v"]  # HOT
            return total

        def main():
            load("data.jsonl", 6000)
    """
    run_dir, script, source = profile_program(pipegauge, workdir, body)
    findings = exported(pipegauge, run_dir)["findings"]
    # THEN both are reported, each with its own suggestion
    hot = {f["line"]: f for f in findings if f["rule"] == "per-record-setup"}
    assert sorted(hot) == marked_lines(source, "# HOT")
    texts = [hot[line]["suggestion"] for line in sorted(hot)]
    assert "open the file once" in texts[0] and "batches" in texts[1]


def test_clean_pipeline_has_no_findings(pipegauge, workdir):
    # GIVEN a clean pipeline whose six steps share the time (none near 30%;
    # many short calls, so one preemption cannot push a step above it)
    steps = "\n".join(f"""
        def {name}(values):
            total = 0
            for v in values:
                total += (v * {k}) % 7
            return total
    """ for k, name in enumerate(["load", "parse", "enrich", "aggregate", "score", "write"], start=1))
    body = steps + """
        def main():
            values = list(range(20000))
            for _ in range(10):
                load(values)
                parse(values)
                enrich(values)
                aggregate(values)
                score(values)
                write(values)
    """
    run_dir, _script, _source = profile_program(pipegauge, workdir, body)
    # WHEN analysed
    document = exported(pipegauge, run_dir)
    # THEN nothing is reported: no pattern, no dominance, no dead code
    assert document["findings"] == [], document["findings"]
    assert document["findings_meta"]["analysed_functions"] >= 6
    result = pipegauge("view", str(run_dir), "--findings")
    assert result.returncode == 0 and "Findings: 0" in result.stdout
    assert "Nothing to report" in result.stdout


def test_dominant_function_without_pattern(pipegauge, workdir):
    # GIVEN one clean function taking most of the run
    body = """
        def crunch(values):
            total = 0
            for v in values:
                total += (v * 31 + 7) % 1009
            return total

        def light(values):
            return len(values)

        def main():
            values = list(range(300000))
            crunch(values)
            light(values)
    """
    run_dir, script, source = profile_program(pipegauge, workdir, body)
    findings = exported(pipegauge, run_dir)["findings"]
    # THEN exactly one finding: dominance, at crunch, with where its time goes
    assert [(f["rule"], f["function"].rsplit(".", 1)[-1]) for f in findings] == [("dominance", "crunch")]
    finding = findings[0]
    assert finding["line"] == source.splitlines().index("def crunch(values):") + 1
    assert finding["evidence"]["share"] > 0.3
    assert "own code" in finding["detail"] and "vectorise" in finding["suggestion"]
    # AND a higher threshold silences it
    result = pipegauge("view", str(run_dir), "--findings", "--dominance-percent", "100")
    assert result.returncode == 0 and "Findings: 0" in result.stdout, result.stdout


def test_dominant_declared_stage(pipegauge, workdir):
    # GIVEN a declared stage taking most of the run
    body = """
        import pipegauge

        @pipegauge.stage("heavy")
        def heavy(values):
            total = 0
            for v in values:
                total += (v * 31 + 7) % 1009
            return total

        @pipegauge.stage("light")
        def light(values):
            return len(values)

        def main():
            values = list(range(300000))
            heavy(values)
            light(values)
    """
    run_dir, script, source = profile_program(pipegauge, workdir, body)
    findings = exported(pipegauge, run_dir)["findings"]
    # THEN the stage is reported at its declaration, once
    stage = [f for f in findings if f["function"] == "stage heavy"]
    assert len(stage) == 1 and stage[0]["rule"] == "dominance"
    assert stage[0]["line"] == source.splitlines().index('@pipegauge.stage("heavy")') + 1
    assert stage[0]["file"] == str(script)
    assert len([f for f in findings if f["line"] == stage[0]["line"]]) == 1, findings


def test_dead_code_reported_with_exclusions(pipegauge, workdir):
    # GIVEN functions never called, and the kinds of function not to report
    body = """
        import abc
        import functools

        def logged(func):
            @functools.wraps(func)
            def wrapper(*args):
                return func(*args)
            return wrapper

        class Base(abc.ABC):
            @abc.abstractmethod
            def run(self):
                ...

            def __repr__(self):
                return "Base()"

        class Job(Base):
            def run(self):
                return sum(range(1000))

            def retry(self):  # DEAD
                return self.run()

        def never_called(x):  # DEAD
            return x * 2

        def test_something():
            assert True

        @logged
        def used(x):
            return x + 1

        def main():
            Job().run()
            used(1)
    """
    source_body = body + """
        if __name__ == "__main__":
            def helper_for_main():
                return 1
    """
    run_dir, script, source = profile_program(pipegauge, workdir, source_body)
    findings = exported(pipegauge, run_dir)["findings"]
    dead = [f for f in findings if f["rule"] == "dead-code"]
    # THEN exactly the two unused functions, said to be "not called in this run"
    assert sorted(f["line"] for f in dead) == marked_lines(source, "# DEAD"), dead
    assert all("not called in this run" in f["detail"] for f in dead)
    # AND they rank after every finding with measured time
    assert findings[-len(dead):] == dead


@pytest.mark.skipif(not HAS_LINE_HEAT, reason="this build's Profile has no line_heat() yet "
                                                 "(line-level heat lands with --lines)")
def test_line_heat_is_the_evidence(pipegauge, workdir):
    # GIVEN the nested-loop pipeline profiled with line heat for its hot
    # function: LINE events on 3.12+, samples on 3.10/3.11 (no LINE events
    # without a settrace function there)
    program = PROGRAMS["nested-loop"].replace("range(700)", "range(2000)")
    how = ["--lines-for", "pairs"] if sys.version_info >= (3, 12) else ["--mode", "sample", "--lines"]
    run_dir, _script, source = profile_program(pipegauge, workdir, program, *how)
    document = exported(pipegauge, run_dir)
    assert document["findings_meta"]["line_heat"] is True
    hot_line = marked_lines(source, "# HOT")[0]
    finding = next(f for f in document["findings"] if f["line"] == hot_line)
    # THEN the flagged lines' heat is the evidence and the time at stake
    lines = finding["evidence"]["lines"]
    assert lines and all(finding["first_line"] <= item["line"] <= finding["last_line"] for item in lines)
    assert lines[0]["hits"] > 0 and lines[0]["total_s"] > 0
    assert finding["evidence"]["impact_s"] <= finding["evidence"]["total_s"] + 1e-9
    assert finding["evidence"]["impact_s"] >= lines[0]["total_s"] - 1e-9
    # AND the cold function's lines, measured or not, give it no finding
    assert not [f for f in document["findings"] if f["line"] in marked_lines(source, "# COLD")]
    # AND view shows the heat
    result = pipegauge("view", str(run_dir), "--findings")
    assert "heat: line" in result.stdout


@pytest.mark.skipif("sample" not in getattr(_options, "MODES", ()),
                    reason="this build has no sampling mode yet (--mode sample lands with it)")
def test_findings_of_a_sampled_run(pipegauge, workdir):
    # GIVEN the nested-loop pipeline and an unused function, profiled by sampling
    program = PROGRAMS["nested-loop"].replace("range(700)", "range(2000)") + """
        def unused():
            return 1
    """
    run_dir, _script, source = profile_program(pipegauge, workdir, program, "--mode", "sample")
    document = exported(pipegauge, run_dir)
    # THEN the hot pattern is found from the estimated times
    assert document["findings_meta"]["sampled"] is True
    hot_line = marked_lines(source, "# HOT")[0]
    assert [f["line"] for f in document["findings"] if f["rule"] == "nested-loop"] == [hot_line]
    assert all(f["evidence"]["calls"] is None for f in document["findings"])
    # AND nothing is called dead: a sampled run does not count calls
    assert not [f for f in document["findings"] if f["rule"] == "dead-code"]
    result = pipegauge("view", str(run_dir), "--findings")
    assert result.returncode == 0 and "sampled run" in result.stdout
    assert " calls" not in result.stdout.split("Findings:")[1]


# -- surfaces ---------------------------------------------------------------------
def test_view_findings_text(pipegauge, workdir):
    run_dir, _script, source = profile_program(pipegauge, workdir, PROGRAMS["nested-loop"])
    hot_line = marked_lines(source, "# HOT")[0]
    result = pipegauge("view", str(run_dir), "--findings")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    first = next(line for line in lines if re.match(r"1\. ", line))
    assert first.startswith(f"1. prog.py:{hot_line}  nested-loop"), first
    assert any(line.strip().startswith("try:") for line in lines)
    assert "functions analysed" in result.stdout
    # AND --limit cuts the list
    limited = pipegauge("view", str(run_dir), "--findings", "--limit", "1")
    assert not re.search(r"^2\. ", limited.stdout, re.MULTILINE)


def test_summary_json_lists_findings(pipegauge, workdir):
    run_dir, script, source = profile_program(pipegauge, workdir, PROGRAMS["sliding-window"])
    summary = load_summary(run_dir)
    first = summary["findings"][0]
    assert (first["rule"], first["file"], first["line"]) == (
        "sliding-window", str(script), marked_lines(source, "# HOT")[0])
    assert set(first) == {"rank", "rule", "file", "line", "function", "impact_s", "share", "detail",
                          "suggestion"}


def documented_keys(section: str) -> set[str]:
    text = (REPO / "docs" / "json-schema.md").read_text(encoding="utf-8")
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_0-9]+)`", part, flags=re.MULTILINE))


def test_json_findings_match_documented_schema(pipegauge, workdir):
    run_dir, _script, _source = profile_program(pipegauge, workdir, PROGRAMS["list-membership"])
    document = exported(pipegauge, run_dir)
    assert document["findings"]
    for finding in document["findings"]:
        assert set(finding) == documented_keys("findings[]")
        assert set(finding["evidence"]) == documented_keys("findings[].evidence")
    assert set(document["findings_meta"]) == documented_keys("findings_meta")


def test_unreadable_sources_are_skipped_and_counted(pipegauge, workdir):
    # GIVEN a run whose source is then broken, and another whose source is gone
    run_dir, script, _source = profile_program(pipegauge, workdir, PROGRAMS["nested-loop"])
    script.write_text("def broken(:\n", encoding="utf-8")
    document = exported(pipegauge, run_dir)
    # THEN no traceback, one file skipped, no pattern found in it (a dominance
    # finding needs no source)
    assert {f["rule"] for f in document["findings"]} <= {"dominance"}
    assert document["findings_meta"]["skipped_files"] == 1
    result = pipegauge("view", str(run_dir), "--findings")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "1 files skipped" in result.stdout
    script.unlink()
    document = exported(pipegauge, run_dir)
    assert {f["rule"] for f in document["findings"]} <= {"dominance"}
    assert document["findings_meta"]["skipped_files"] == 1


def test_generated_code_is_skipped_and_counted(pipegauge, workdir):
    # GIVEN a hot function compiled from a string (no source file)
    body = '''
        CODE = """
        def generated(rows):
            n = 0
            for a in rows:
                for b in rows:
                    n += a < b
            return n
        """

        def main():
            import textwrap
            namespace = {}
            exec(compile(textwrap.dedent(CODE), "<generated>", "exec"), namespace)
            namespace["generated"](list(range(500)))
    '''
    run_dir, _script, _source = profile_program(pipegauge, workdir, body)
    document = exported(pipegauge, run_dir)
    # THEN it is skipped and counted, with no pattern finding and no traceback
    assert document["findings_meta"]["skipped_files"] == 1
    assert {f["rule"] for f in document["findings"]} <= {"dominance"}
    result = pipegauge("view", str(run_dir), "--findings")
    assert result.returncode == 0 and "1 files skipped" in result.stdout


@pytest.mark.parametrize("args", [
    ["--findings-min-percent", "150"],
    ["--dominance-percent", "x"],
    ["--complexity", "0"],
])
def test_bad_thresholds_are_one_error_line(args, pipegauge, workdir):
    run_dir, _script, _source = profile_program(pipegauge, workdir, PROGRAMS["nested-loop"])
    result = pipegauge("view", str(run_dir), "--findings", *args)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr_lines) <= 2 and args[0] in result.stderr  # usage line + error line


def test_findings_on_a_corrupt_profile(pipegauge, workdir):
    (workdir / "bad.pgprof").write_bytes(b"PGPROF\x00garbage" * 10)
    result = pipegauge("view", "bad.pgprof", "--findings")
    assert_one_error_line(result)


def test_html_report_lists_hot_finding_first(pipegauge, workdir):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    # GIVEN the report of a run with a hot nested loop
    run_dir, _script, source = profile_program(pipegauge, workdir, PROGRAMS["nested-loop"])
    hot_line = marked_lines(source, "# HOT")[0]
    report = run_dir / "report.html"
    assert report.is_file()
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(report.as_uri())
            page.wait_for_selector("html[data-pg-ready=true]")
            # THEN the Findings section lists the hot finding first, with its location
            items = page.locator("#pg-findings li.pg-finding")
            assert items.count() >= 1
            first = items.nth(0)
            assert first.get_attribute("data-rule") == "nested-loop"
            assert first.locator(".pg-finding-location").inner_text().endswith(f"prog.py:{hot_line}")
            assert "Try:" in first.inner_text()
            assert not errors, errors
        finally:
            browser.close()


def test_api_findings_in_process(tmp_path, monkeypatch):
    # GIVEN a module with a hot list-membership loop, profiled in-process
    import importlib
    import sys

    import pipegauge

    source = textwrap.dedent(PROGRAMS["list-membership"])
    (tmp_path / "member_mod.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("member_mod")
    try:
        with pipegauge.profile(history=False, output_dir=str(tmp_path / "out")) as run:
            module.main()
        # WHEN its findings are asked for through the API
        result = run.findings()
        hot_line = marked_lines(source, "# HOT")[0]
        # THEN the hot membership test is first, with the module's path and line
        first = result.findings[0]
        assert (first.rule, first.line) == ("list-membership", hot_line)
        assert first.file == str(tmp_path / "member_mod.py")
        assert not [f for f in result.findings if f.line in marked_lines(source, "# COLD")]
        # AND a threshold above its share leaves the function out
        assert not [f for f in run.findings(min_percent=100).findings if f.rule == "list-membership"]
    finally:
        sys.modules.pop("member_mod", None)


def test_thresholds_from_the_configuration_file(pipegauge, workdir):
    # GIVEN a configuration file with a low complexity threshold, and a hot
    # function of complexity 6 (below the default of 15)
    (workdir / ".pipegauge.toml").write_text("findings_complexity = 5\n", encoding="utf-8")
    body = """
        def grade(x):  # HOT
            if x < 10:
                return "a"
            if x < 20:
                return "b"
            if x < 30:
                return "c"
            if x < 40 or x > 90:
                return "d"
            return "e"

        def main():
            for x in range(200000):
                grade(x % 100)
    """
    run_dir, _script, source = profile_program(pipegauge, workdir, body)
    # WHEN exported, THEN the configured threshold applies
    document = exported(pipegauge, run_dir)
    assert document["findings_meta"]["settings"]["complexity"] == 5
    complex_ = [f for f in document["findings"] if f["rule"] == "complexity"]
    assert [f["line"] for f in complex_] == marked_lines(source, "# HOT")
    assert "complexity 6" in complex_[0]["detail"]
    # AND the command line overrides it
    result = pipegauge("view", str(run_dir), "--findings", "--complexity", "6")
    assert result.returncode == 0 and "complexity" not in result.stdout.split("Findings:")[1], result.stdout
