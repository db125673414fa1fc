"""Opening modelbook's SQLite files safely.

A file that is not SQLite (corrupt, or something else saved under our name), a SQLite file that belongs
to another application, or one that fails SQLite's own integrity check gets a one-line error; it is never
re-initialised or overwritten. Our files carry PRAGMA application_id so a foreign database is recognised.
WAL journal + synchronous=FULL: a committed transaction survives a kill -9 or a power cut.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from modelbook.core.errors import ModelbookError

APPLICATION_ID = 0x4D424F4B  # "MBOK"


def connect(path: Path, schema: str, version: int, what: str) -> sqlite3.Connection:
    """Open (creating if absent) the database at `path` with `schema` (idempotent CREATE ... IF NOT EXISTS)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file is never opened with open() to check its header: closing any descriptor of a database file
    # drops every POSIX lock this process holds on it, including those of SQLite connections already open
    # here. Another process then believes it holds the last connection and deletes the WAL from under them,
    # and those connections later read a "malformed" database. SQLite's own check (SQLITE_NOTADB) is used.
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)  # autocommit; we open transactions explicitly
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        status = conn.execute("PRAGMA quick_check").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    except sqlite3.DatabaseError as e:
        if "file is not a database" in str(e):
            raise ModelbookError(
                f"{what} at {path} is not a SQLite database (corrupt or a foreign file); "
                f"modelbook will not overwrite it: move it aside or point MODELBOOK_HOME elsewhere"
            ) from e
        raise ModelbookError(f"{what} at {path} is corrupt ({e}); modelbook will not overwrite it: move it aside") from e
    if status != "ok":
        conn.close()
        raise ModelbookError(f"{what} at {path} failed SQLite's integrity check ({status}); move it aside")
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
        conn.close()
        raise ModelbookError(
            f"{path} is a SQLite database of another application, not a modelbook {what}; "
            f"modelbook will not overwrite it: move it aside or point MODELBOOK_HOME elsewhere"
        )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > version:
        conn.close()
        raise ModelbookError(f"{what} at {path} was written by a newer modelbook (schema {current} > {version}); upgrade modelbook")
    if app_id == 0 or current < version:
        with transaction(conn):
            for statement in _statements(schema):
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={version}")
    return conn


class transaction:
    """`with transaction(conn):` BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def _statements(schema: str) -> list[str]:
    return [s.strip() for s in schema.split(";") if s.strip()]
