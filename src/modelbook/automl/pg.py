"""A throw-away PostgreSQL server on a unix socket, for tests and demos of a study shared across machines.

    with temporary_postgres() as url:          # postgresql+psycopg://postgres@/postgres?host=/tmp/mb-pg-xxxx
        study = optuna.create_study(storage=url, ...)

It runs Debian's PostgreSQL binaries (/usr/lib/postgresql/<version>/bin, or `initdb` on PATH): `initdb` a
cluster in a temp folder, start `postgres` listening on nothing but a unix socket in that folder
(listen_addresses = ''), and on exit stop it (fast shutdown, then kill) and remove the folder, also when
the block raised. initdb and postgres refuse to run as root: as root they run as the `postgres` system
user (runuser), with the folder handed to that user. `unavailable()` says why a server cannot be started
here (no binaries, root without a postgres user), or returns None.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PORT = 5432  # only names the socket file (.s.PGSQL.5432) inside our private folder: no TCP port is opened


def bin_dir() -> Path | None:
    """Folder holding initdb/pg_ctl/postgres: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # a symlink in /usr/local/bin points at the folder with pg_ctl
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    return Path(dirs[-1]) if dirs else None


def _run_as() -> list[str] | None:
    """Command prefix to run the server binaries: [] as a normal user, runuser as root, None when impossible."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    tool = shutil.which("runuser") or shutil.which("su")
    if tool is None:
        return None
    return [tool, "-u", "postgres", "--"] if tool.endswith("runuser") else None


def unavailable() -> str | None:
    """Why a temporary server cannot start here, or None when it can."""
    if bin_dir() is None:
        return "PostgreSQL server binaries not found (install the `postgresql` package: scripts/install.sh --test)"
    if _run_as() is None:
        return "running as root without a `postgres` system user (and runuser): initdb refuses to run as root"
    return None


def url_for(socket_dir: str | Path, user: str = "postgres", database: str = "postgres") -> str:
    """SQLAlchemy URL of a server reached over its unix socket in `socket_dir` (psycopg 3 driver)."""
    return f"postgresql+psycopg://{user}@/{database}?host={socket_dir}&port={PORT}"


@contextmanager
def temporary_postgres(timeout_s: float = 30.0) -> Iterator[str]:
    """Start a private PostgreSQL server for the duration of the block; yields its SQLAlchemy URL."""
    why = unavailable()
    if why:
        raise RuntimeError(why)
    bins, prefix = bin_dir(), _run_as()
    root = Path(tempfile.mkdtemp(prefix="mb-pg-"))
    data, log = root / "data", root / "server.log"
    user = "postgres" if prefix else pwd.getpwuid(os.geteuid()).pw_name
    if prefix:
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o700)
    started = False
    try:
        subprocess.run([*prefix, str(bins / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "--no-sync",
                        "-E", "UTF8", "--locale=C"], check=True, capture_output=True, timeout=timeout_s)
        options = f"-k {root} -p {PORT} -c listen_addresses='' -c fsync=off -c max_connections=20 -c shared_buffers=16MB"
        subprocess.run([*prefix, str(bins / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
                        "-t", str(int(timeout_s)), "start"], check=True, capture_output=True, timeout=timeout_s + 5)
        started = True
        yield url_for(root, user)
    finally:
        if started:
            subprocess.run([*prefix, str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "20", "stop"],
                           capture_output=True, timeout=timeout_s)
        shutil.rmtree(root, ignore_errors=True)
