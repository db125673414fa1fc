"""Where modelbook keeps its state: $MODELBOOK_HOME, default ~/.local/share/modelbook."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def home() -> Path:
    """The state folder (results database, run artifacts, model caches, quiz progress)."""
    env = os.environ.get("MODELBOOK_HOME")
    base = Path(env).expanduser() if env else Path.home() / ".local" / "share" / "modelbook"
    base.mkdir(parents=True, exist_ok=True)
    return base


def cache_dir(name: str) -> Path:
    """A cache sub-folder, e.g. cache_dir("models") for converted weights."""
    path = home() / "cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the new one, never half of it:
    write a temp file in the same folder, fsync it, rename it over the target, fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
