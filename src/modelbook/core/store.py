"""Results history: every run of a lab, in SQLite under $MODELBOOK_HOME, with its artifacts folder.

Layout:  $MODELBOOK_HOME/results.sqlite3      one row per run (indexed columns + the full result JSON)
         $MODELBOOK_HOME/runs/<run folder>/   the plots a run wrote

A lab writes into a temporary folder (runs/.tmp-*); only when it has finished is the folder renamed to
its final name and the row inserted, in one transaction. An interrupted run leaves no row and no
half-written folder behind.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from modelbook.core import paths, sqlite
from modelbook.core.result import LabResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    lab         TEXT NOT NULL,
    preset      TEXT NOT NULL,
    seed        INTEGER,
    started_at  TEXT NOT NULL,
    duration_s  REAL NOT NULL,
    passed      INTEGER NOT NULL,
    n_checks    INTEGER NOT NULL,
    n_failed    INTEGER NOT NULL,
    git         TEXT,
    run_dir     TEXT NOT NULL,
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_lab ON runs (lab, id);
"""
VERSION = 1


@dataclass(frozen=True)
class RunRow:
    id: int
    lab: str
    preset: str
    seed: int | None
    started_at: str
    duration_s: float
    passed: bool
    n_checks: int
    n_failed: int
    git: str
    run_dir: Path

    def result(self, store: "Store") -> LabResult:
        return store.result(self.id)


class Store:
    def __init__(self, home: Path | None = None):
        self.home = Path(home) if home else paths.home()
        self.db_path = self.home / "results.sqlite3"
        self.runs_dir = self.home / "runs"
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite.connect(self.db_path, SCHEMA, VERSION, what="results database")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- writing --
    def new_run_dir(self) -> Path:
        """A fresh temporary folder for a run's artifacts (renamed into place by `save`).

        Its name carries our pid, so folders left by a killed process are recognised and swept away."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_orphans()
        return Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=self.runs_dir))

    def _sweep_orphans(self) -> None:
        for tmp in self.runs_dir.glob(".tmp-*"):
            pid = tmp.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(tmp, ignore_errors=True)

    def save(self, result: LabResult, tmp_dir: Path) -> int:
        """Move the run's folder into place and record the run, atomically. Returns the run id."""
        started = str(result.env.get("started_at", ""))
        stamp = started.replace(":", "").replace("-", "")[:15] or "run"
        final = self.runs_dir / f"{stamp}-{result.lab}-{uuid.uuid4().hex[:6]}"
        tmp_dir.rename(final)
        paths.fsync_dir(self.runs_dir)
        try:
            with sqlite.transaction(self.conn) as c:
                cur = c.execute(
                    "INSERT INTO runs (lab, preset, seed, started_at, duration_s, passed, n_checks, n_failed, git,"
                    " run_dir, result_json) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (result.lab, result.preset, result.env.get("seed"), started,
                     float(result.env.get("duration_s", 0.0)), int(result.passed), len(result.checks),
                     len(result.failed_checks), str(result.env.get("git", "")), final.name, result.to_json(indent=None)),
                )
                return int(cur.lastrowid)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise

    def discard(self, tmp_dir: Path) -> None:
        shutil.rmtree(tmp_dir, ignore_errors=True)

    # -- reading --
    def _row(self, r) -> RunRow:
        return RunRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9] or "", self.runs_dir / r[10])

    _COLS = "id, lab, preset, seed, started_at, duration_s, passed, n_checks, n_failed, git, run_dir"

    def history(self, lab: str | None = None, limit: int = 20) -> list[RunRow]:
        if not self.db_path.exists():
            return []
        q = f"SELECT {self._COLS} FROM runs"  # nosec B608 # a constant column list; values are bound with ?
        args: tuple = ()
        if lab:
            q, args = q + " WHERE lab = ?", (lab,)
        rows = self.conn.execute(q + " ORDER BY id DESC LIMIT ?", args + (limit,)).fetchall()
        return [self._row(r) for r in rows]

    def latest(self) -> dict[str, RunRow]:
        """The most recent run of every lab that has one."""
        if not self.db_path.exists():
            return {}
        rows = self.conn.execute(
            f"SELECT {self._COLS} FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY lab)"  # nosec B608 # constant columns
        ).fetchall()
        return {r[1]: self._row(r) for r in rows}

    def result(self, run_id: int) -> LabResult:
        row = self.conn.execute("SELECT result_json FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            from modelbook.core.errors import ModelbookError

            raise ModelbookError(f"no run with id {run_id}. See `modelbook results`.")
        return LabResult.from_dict(json.loads(row[0]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
