"""The run history: ``.pipegauge/history.sqlite`` (stdlib sqlite3).

Every recorded run keeps its program identity, git state, host, Python,
start, duration, the path of its profile, per function a summary with
its latency histogram (the compact ns-bucket sample of ``_core``), and per
pipeline stage its own time, records, throughput and per-record latency
histogram (schema 2), so runs can be compared after their profile files
are gone.

Concurrency: WAL journal, and a busy timeout so several processes (a CI
matrix, ``run --repeat``) can record at once; each write is one short
transaction. The schema version is ``PRAGMA user_version``; MIGRATIONS
brings an older file up to date in order, inside one transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import USAGE_EXIT, PipegaugeError

HISTORY_FILE = Path(".pipegauge") / "history.sqlite"
BUSY_TIMEOUT_MS = 5000  # how long a writer waits for another one's lock

# Each entry moves the schema from version index to index + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            program TEXT NOT NULL,       -- identity: normalised script path (::name)
            name TEXT NOT NULL,          -- run name
            group_id TEXT,               -- runs of one `run --repeat N`
            git_commit TEXT, git_branch TEXT, git_dirty INTEGER,
            host TEXT, python TEXT,
            started REAL NOT NULL,       -- epoch seconds
            duration_ns REAL NOT NULL,
            profile_path TEXT,           -- absolute; may no longer exist
            recorded REAL NOT NULL)""",
        "CREATE INDEX runs_program ON runs (program, started)",
        "CREATE INDEX runs_group ON runs (group_id)",
        """CREATE TABLE functions (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            fkey TEXT NOT NULL,          -- qualified name | relative file | kind
            name TEXT NOT NULL, file TEXT NOT NULL, kind TEXT NOT NULL,
            calls INTEGER NOT NULL,
            self_ns REAL NOT NULL, total_ns REAL NOT NULL,
            p50_ns REAL NOT NULL, p95_ns REAL NOT NULL, p99_ns REAL NOT NULL,
            sample BLOB NOT NULL,        -- latency histogram, ns buckets (_core)
            extra TEXT NOT NULL DEFAULT '{}',  -- other per-function numbers (JSON)
            PRIMARY KEY (run_id, fkey))""",
        """CREATE TABLE baselines (
            program TEXT PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            set_at REAL NOT NULL)""",
    ),
    (
        """CREATE TABLE stages (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            name TEXT NOT NULL,          -- the stage name: matches across runs
            invocations INTEGER NOT NULL,
            records_in INTEGER NOT NULL, records_out INTEGER NOT NULL,
            own_ns REAL NOT NULL,        -- active time less upstream and nested
            throughput REAL NOT NULL,    -- records per second of own time (0: none)
            p50_ns REAL NOT NULL, p95_ns REAL NOT NULL, p99_ns REAL NOT NULL,
            sample BLOB NOT NULL,        -- per-record latency histogram, ns buckets
            extra TEXT NOT NULL DEFAULT '{}',  -- memory, I/O when measured (JSON)
            PRIMARY KEY (run_id, name))""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_path(base: Path | None = None) -> Path:
    return (base if base is not None else Path.cwd()) / HISTORY_FILE


@dataclass
class FunctionRecord:
    """One function of one run, matched across runs by ``key``."""

    key: str
    name: str
    file: str  # relative to the program's root when below it
    kind: str  # "python" or "builtin"
    calls: int
    self_ns: float
    total_ns: float
    p50_ns: float
    p95_ns: float
    p99_ns: float
    sample: bytes  # latency histogram (``_core.Profile.latency_samples``)
    extra: dict[str, float] = field(default_factory=dict)  # e.g. memory, io


STAGE_KIND = "stage"  # the kind of a stage's rows in diff and check


@dataclass
class StageRecord:
    """One pipeline stage of one run, matched across runs by name."""

    name: str
    invocations: int
    records_in: int
    records_out: int
    own_ns: float
    throughput: float  # records per second of own time; 0 without records
    p50_ns: float  # per-record own time
    p95_ns: float
    p99_ns: float
    sample: bytes  # per-record latency histogram (``stage_latency_samples``)
    extra: dict[str, float] = field(default_factory=dict)  # memory_allocated, io_*

    @property
    def records(self) -> int:
        """Records handled: out, or in for a sink."""
        return self.records_out or self.records_in

    def as_function(self) -> FunctionRecord:
        """The row diff and check compare: calls are the records (exact
        counts), self and total the own time (the per-record histogram is of
        own time, so a stage is judged like a leaf function)."""
        return FunctionRecord(f"{self.name}||{STAGE_KIND}", self.name, "", STAGE_KIND,
                              self.records, self.own_ns, self.own_ns, self.p50_ns,
                              self.p95_ns, self.p99_ns, self.sample, dict(self.extra))


@dataclass
class RunRecord:
    """One run as the history keeps it. ``id`` is 0 until recorded."""

    program: str
    name: str
    started: float
    duration_ns: float
    functions: list[FunctionRecord]
    group_id: str | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    host: str | None = None
    python: str | None = None
    profile_path: str | None = None
    id: int = 0
    stages: list[StageRecord] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"#{self.id}" if self.id else (self.profile_path or self.name)


class HistoryError(PipegaugeError):
    """The history database cannot be opened, read or written."""


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "locked" in text or "busy" in text:
        return f"{text} (another process holds a lock on it)"
    return text


class History:
    """An open history database. Use as a context manager or call close()."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 readonly: bool = False) -> None:
        """Open (and with create, create and migrate) the history at path.
        readonly opens an existing file for reading only: no journal-mode
        change, no migration (an older schema is an error), and no wait for
        a writer's lock beyond the busy timeout."""
        self.path = Path(path)
        if (readonly or not create) and not self.path.is_file():
            raise HistoryError(f"no history at {str(self.path)!r} (runs are recorded by "
                               "'pipegauge run')", USAGE_EXIT)
        try:
            if create and not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            target = f"{self.path.resolve().as_uri()}?mode=ro" if readonly else os.fspath(self.path)
            self._db = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000,
                                       isolation_level=None, uri=readonly)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open history {str(self.path)!r}: {_describe(exc)}") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA foreign_keys = ON")
            if readonly:
                if self._check_version() != SCHEMA_VERSION:
                    raise HistoryError(f"history {str(self.path)!r} has an older schema; "
                                       "the next recorded run updates it")
            else:
                self._prepare()
        except sqlite3.Error as exc:
            self._db.close()
            raise HistoryError(f"history {str(self.path)!r} is unusable: {_describe(exc)}") from None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _check_version(self) -> int:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise HistoryError(f"history {str(self.path)!r} has schema version {version}, newer "
                               f"than this pipegauge knows ({SCHEMA_VERSION})")
        return version

    def _prepare(self) -> None:
        """WAL mode and the current schema. Several writers creating the file
        at once can see SQLITE_BUSY here even with a busy timeout (switching
        the journal mode and WAL recovery need a lock the busy handler does not
        always wait for): retry within the same time budget."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._migrate()
                return
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        version = self._check_version()
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # another writer may have migrated while we waited for the lock
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for step in MIGRATIONS[version:]:
                for statement in step:
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- writing -------------------------------------------------------------

    def record(self, run: RunRecord) -> int:
        """Store run (one transaction); returns and sets its id."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT INTO runs (program, name, group_id, git_commit, git_branch, git_dirty,"
                    " host, python, started, duration_ns, profile_path, recorded)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run.program, run.name, run.group_id, run.git_commit, run.git_branch,
                     None if run.git_dirty is None else int(run.git_dirty), run.host, run.python,
                     run.started, run.duration_ns, run.profile_path, time.time()))
                run_id = int(cursor.lastrowid or 0)
                self._db.executemany(
                    "INSERT INTO functions (run_id, fkey, name, file, kind, calls, self_ns,"
                    " total_ns, p50_ns, p95_ns, p99_ns, sample, extra)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, f.key, f.name, f.file, f.kind, f.calls, f.self_ns, f.total_ns,
                      f.p50_ns, f.p95_ns, f.p99_ns, f.sample, json.dumps(f.extra, sort_keys=True))
                     for f in run.functions])
                self._db.executemany(
                    "INSERT INTO stages (run_id, name, invocations, records_in, records_out,"
                    " own_ns, throughput, p50_ns, p95_ns, p99_ns, sample, extra)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, s.name, s.invocations, s.records_in, s.records_out, s.own_ns,
                      s.throughput, s.p50_ns, s.p95_ns, s.p99_ns, s.sample,
                      json.dumps(s.extra, sort_keys=True)) for s in run.stages])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot record in history {str(self.path)!r}: {_describe(exc)}") from None
        run.id = run_id
        return run_id

    def set_baseline(self, program: str, run_id: int) -> None:
        self._write("INSERT INTO baselines (program, run_id, set_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (program) DO UPDATE SET run_id = excluded.run_id,"
                    " set_at = excluded.set_at", (program, run_id, time.time()))

    def _write(self, sql: str, params: Sequence[object]) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot write history {str(self.path)!r}: {_describe(exc)}") from None

    # -- reading -------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot read history {str(self.path)!r}: {_describe(exc)}") from None

    _RUN_COLUMNS = ("id, program, name, group_id, git_commit, git_branch, git_dirty, host, python,"
                    " started, duration_ns, profile_path")

    def _run_from_row(self, row: tuple, *, with_functions: bool) -> RunRecord:
        (run_id, program, name, group_id, commit, branch, dirty, host, python, started,
         duration_ns, profile_path) = row
        functions = self.functions(run_id) if with_functions else []
        stages = self.stages(run_id) if with_functions else []
        return RunRecord(program=program, name=name, started=started, duration_ns=duration_ns,
                         functions=functions, group_id=group_id, git_commit=commit,
                         git_branch=branch, git_dirty=None if dirty is None else bool(dirty),
                         host=host, python=python, profile_path=profile_path, id=run_id,
                         stages=stages)

    def stages(self, run_id: int) -> list[StageRecord]:
        rows = self._query("SELECT name, invocations, records_in, records_out, own_ns, throughput,"
                           " p50_ns, p95_ns, p99_ns, sample, extra FROM stages WHERE run_id = ?"
                           " ORDER BY rowid", (run_id,))
        return [StageRecord(name, int(invocations), int(records_in), int(records_out),
                            float(own), float(throughput), float(p50), float(p95), float(p99),
                            bytes(sample), _extras(extra))
                for (name, invocations, records_in, records_out, own, throughput, p50, p95,
                     p99, sample, extra) in rows]

    def functions(self, run_id: int) -> list[FunctionRecord]:
        rows = self._query("SELECT fkey, name, file, kind, calls, self_ns, total_ns, p50_ns, p95_ns,"
                           " p99_ns, sample, extra FROM functions WHERE run_id = ?", (run_id,))
        result = []
        for (key, name, file, kind, calls, self_ns, total_ns, p50, p95, p99, sample, extra) in rows:
            extras = _extras(extra)
            result.append(FunctionRecord(key, name, file, kind, int(calls), float(self_ns),
                                         float(total_ns), float(p50), float(p95), float(p99),
                                         bytes(sample), extras))
        return result

    def runs(self, *, program: str | None = None, name: str | None = None,
             limit: int | None = None, with_functions: bool = False) -> list[RunRecord]:
        """Runs, newest first."""
        where, params = [], []
        if program is not None:
            where.append("program = ?")
            params.append(program)
        if name is not None:
            where.append("name = ?")
            params.append(name)
        sql = f"SELECT {self._RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._run_from_row(row, with_functions=with_functions)
                for row in self._query(sql, params)]

    def run(self, run_id: int) -> RunRecord | None:
        rows = self._query(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return self._run_from_row(rows[0], with_functions=True) if rows else None

    def run_by_profile(self, profile_path: str) -> RunRecord | None:
        rows = self._query(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE profile_path = ?"
                           " ORDER BY id DESC LIMIT 1", (profile_path,))
        return self._run_from_row(rows[0], with_functions=True) if rows else None

    def group(self, group_id: str) -> list[RunRecord]:
        rows = self._query(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE group_id = ? ORDER BY id",
                           (group_id,))
        return [self._run_from_row(row, with_functions=True) for row in rows]

    def baseline(self, program: str) -> int | None:
        rows = self._query("SELECT run_id FROM baselines WHERE program = ?", (program,))
        return int(rows[0][0]) if rows else None

    def baselines(self) -> dict[str, int]:
        return {program: int(run_id) for program, run_id
                in self._query("SELECT program, run_id FROM baselines")}


def _extras(text: str) -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(text).items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def open_history(path: str | os.PathLike[str] | None, *, create: bool = False) -> History:
    """The history at path (default .pipegauge/history.sqlite in the cwd)."""
    return History(path if path is not None else default_path(), create=create)


def runs_with_group(history: History, run: RunRecord) -> list[RunRecord]:
    """run's whole group (every repeat), or [run] when it has none."""
    if run.group_id:
        members = history.group(run.group_id)
        if members:
            return members
    return [run]

