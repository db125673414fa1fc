"""Results history: every run of a lab, in SQLite under $MODELBOOK_HOME, with its artifacts folder.

Layout:  $MODELBOOK_HOME/results.sqlite3      one row per run (indexed columns + the full result JSON)
         $MODELBOOK_HOME/runs/<run folder>/   the plots a run wrote

A lab writes into a temporary folder (runs/.tmp-<pid>-*). When it has finished, the final folder name is
written into it (.run-dir), the row is inserted and committed, and only then is the folder renamed to that
name. A kill at any point is recoverable, by whichever Store next opens the database:
  - before the commit: no row; the temp folder of the dead pid is removed;
  - between the commit and the rename: the row exists and the temp folder names it in .run-dir; it is renamed
    into place (so every row ends up with its folder).
A final-named folder never exists without its row (the rename comes after the commit), so folders without a
row (the runs of a database moved aside, a user's own) are never removed.

check() opens the database and proves it and the runs folder writable, so that `modelbook run` refuses a
read-only or corrupt store before a lab runs, not after. A row that cannot be read (text that is not UTF-8,
result JSON that does not parse) is skipped with a one-line warning naming its run id (CorruptRun for one asked
for by id); the other rows keep working.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from modelbook.core import paths, sqlite
from modelbook.core.errors import ModelbookError
from modelbook.core.procs import alive
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
MARK = ".run-dir"  # inside a temp folder whose row is committed: the name to rename it to
FINAL_NAME = re.compile(r"^[0-9T]{1,15}-[a-z0-9-]+-[0-9a-f]{6}$|^run-[a-z0-9-]+-[0-9a-f]{6}$")


class CorruptRun(ModelbookError):
    """A stored run whose row cannot be read back."""


class _Undecodable(str):
    """A TEXT value that was not valid UTF-8 (shown with replacement characters, flagged as corrupt)."""


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _Undecodable(data.decode("utf-8", "replace"))


def _warn(message: str) -> None:
    import sys

    print(f"warning: {message}", file=sys.stderr)


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
        self.warn: Callable[[str], None] = _warn
        self._warned: set[int] = set()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite.connect(self.db_path, SCHEMA, VERSION, what="results database")
            self._conn.text_factory = _text
            try:
                self._recover()
            except (OSError, sqlite3.Error):
                pass  # a read-only folder: recovery waits for the next writer
        return self._conn

    def check(self) -> None:
        """Open the database and prove that it and the runs folder are writable (a write rolled back), or raise a
        one-line ModelbookError. `modelbook run` calls this before a lab starts, so a bad store loses no result."""
        try:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(f"PRAGMA user_version={VERSION}")  # a real write to the header: fails if read-only
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.Error as e:
            self.close()
            raise ModelbookError(f"results database at {self.db_path} cannot be written ({e}); "
                                 f"fix its permissions or point MODELBOOK_HOME elsewhere") from None
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            probe = Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-check-", dir=self.runs_dir))
            probe.rmdir()
        except OSError as e:
            raise ModelbookError(f"runs folder {self.runs_dir} is not writable ({e.strerror or e}); "
                                 f"fix its permissions or point MODELBOOK_HOME elsewhere") from None

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
        """Temp folders of dead processes: renamed into place if their row was committed, else removed."""
        if not self.runs_dir.is_dir():
            return
        known: set[str] | None = None
        for tmp in self.runs_dir.glob(".tmp-*"):
            pid = tmp.name.split("-")[1]
            if not pid.isdigit() or alive(int(pid)):
                continue
            final = (tmp / MARK).read_text().strip() if (tmp / MARK).is_file() else ""
            if final and self.db_path.exists():
                if known is None:
                    known = self._run_dirs()
                if final in known and FINAL_NAME.match(final) and not (self.runs_dir / final).exists():
                    (tmp / MARK).unlink()
                    tmp.rename(self.runs_dir / final)
                    paths.fsync_dir(self.runs_dir)
                    continue
            shutil.rmtree(tmp, ignore_errors=True)

    def _run_dirs(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT run_dir FROM runs")}

    def _recover(self) -> None:
        """Finish or undo what killed writers left (see the module docstring)."""
        if self.runs_dir.is_dir():
            self._sweep_orphans()

    def save(self, result: LabResult, tmp_dir: Path) -> int:
        """Record the run, then move its folder into place (recoverable if killed between). Returns the run id."""
        started = str(result.env.get("started_at", ""))
        stamp = started.replace(":", "").replace("-", "")[:15] or "run"
        final = self.runs_dir / f"{stamp}-{result.lab}-{uuid.uuid4().hex[:6]}"
        paths.atomic_write_text(tmp_dir / MARK, final.name + "\n")
        with sqlite.transaction(self.conn) as c:
            cur = c.execute(
                    "INSERT INTO runs (lab, preset, seed, started_at, duration_s, passed, n_checks, n_failed, git,"
                    " run_dir, result_json) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (result.lab, result.preset, result.env.get("seed"), started,
                     float(result.env.get("duration_s", 0.0)), int(result.passed), len(result.checks),
                 len(result.failed_checks), str(result.env.get("git", "")), final.name, result.to_json(indent=None)),
            )
            run_id = int(cur.lastrowid)
        tmp_dir.rename(final)
        (final / MARK).unlink(missing_ok=True)
        paths.fsync_dir(self.runs_dir)
        return run_id

    def discard(self, tmp_dir: Path) -> None:
        shutil.rmtree(tmp_dir, ignore_errors=True)

    # -- reading --
    def _row(self, r, strict: bool = False) -> RunRow | None:
        """A RunRow, or None (with a warning naming the run) when the row's values are damaged (CorruptRun if strict)."""
        try:
            if any(isinstance(v, _Undecodable) for v in r):
                raise ValueError("text that is not UTF-8")
            if not isinstance(r[1], str) or not isinstance(r[10], str) or "/" in r[10] or r[10] in ("", ".", ".."):
                raise ValueError("lab or run folder is not a name")
            return RunRow(int(r[0]), r[1], str(r[2]), r[3], str(r[4]), float(r[5]), bool(r[6]), int(r[7]), int(r[8]),
                          str(r[9] or ""), self.runs_dir / r[10])
        except (TypeError, ValueError) as e:
            if strict:
                raise CorruptRun(f"run {r[0]} in {self.db_path} is damaged ({e})") from None
            self._corrupt(r[0], str(e))
            return None

    def _corrupt(self, run_id, why: str) -> None:
        if run_id not in self._warned:
            self._warned.add(run_id)
            self.warn(f"run {run_id} in {self.db_path} is damaged ({why}); skipped")

    _COLS = "id, lab, preset, seed, started_at, duration_s, passed, n_checks, n_failed, git, run_dir"

    def history(self, lab: str | None = None, limit: int = 20) -> list[RunRow]:
        if not self.db_path.exists():
            return []
        q = f"SELECT {self._COLS} FROM runs"  # nosec B608 # a constant column list; values are bound with ?
        args: tuple = ()
        if lab:
            q, args = q + " WHERE lab = ?", (lab,)
        rows = self.conn.execute(q + " ORDER BY id DESC LIMIT ?", args + (limit,)).fetchall()
        return [row for r in rows if (row := self._row(r)) is not None]

    def latest(self, preset: str | None = None) -> dict[str, RunRow]:
        """The most recent run of every lab that has one; of that preset only ("quick", "full") when given, so a
        full run is never hidden by a later quick one (runs with --set overrides count as neither)."""
        if not self.db_path.exists():
            return {}
        where, args = ("WHERE preset = ? ", (preset,)) if preset else ("", ())
        rows = self.conn.execute(
            f"SELECT {self._COLS} FROM runs WHERE id IN (SELECT MAX(id) FROM runs {where}GROUP BY lab)", args  # nosec B608 # constant SQL; the preset is bound with ?
        ).fetchall()
        return {row.lab: row for r in rows if (row := self._row(r)) is not None}

    def run(self, run_id: int) -> RunRow | None:
        """The row of run `run_id` (its run folder included), None if there is no such run, CorruptRun if damaged."""
        if not self.db_path.exists():
            return None
        q = f"SELECT {self._COLS} FROM runs WHERE id = ?"  # nosec B608 # constant columns; the id is bound with ?
        r = self.conn.execute(q, (run_id,)).fetchone()
        return self._row(r, strict=True) if r is not None else None

    def latest_value_lookup(self) -> Callable[[str, str], float | None]:
        """lookup(lab, metric) -> the metric's value in the lab's latest stored run, or None (not run / not measured).

        The latest runs are read once, now; each lab's result is read on its first lookup."""
        latest = self.latest()
        results: dict[str, LabResult] = {}

        def lookup(lab: str, metric: str) -> float | None:
            if lab not in latest:
                return None
            if lab not in results:
                results[lab] = self.result_or_none(latest[lab].id)
            try:
                return results[lab].value(metric) if results[lab] is not None else None
            except KeyError:
                return None

        return lookup

    def result_or_none(self, run_id: int) -> LabResult | None:
        """The stored result of run `run_id`, or None after a one-line warning if it cannot be read back."""
        try:
            return self.result(run_id)
        except CorruptRun as e:
            if run_id not in self._warned:
                self._warned.add(run_id)
                self.warn(f"{e}; skipped")
            return None

    def result(self, run_id: int) -> LabResult:
        """The stored result of run `run_id`; CorruptRun if it cannot be read back."""
        row = self.conn.execute("SELECT result_json FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ModelbookError(f"no run with id {run_id}. See `modelbook results`.")
        try:
            if isinstance(row[0], _Undecodable) or not isinstance(row[0], str):
                raise ValueError("its result is not UTF-8 text")
            return LabResult.from_dict(json.loads(row[0]))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
            why = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
            raise CorruptRun(f"run {run_id} in {self.db_path} is damaged (unreadable result: {why})") from None

