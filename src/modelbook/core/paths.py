"""Where modelbook keeps its state ($MODELBOOK_HOME, default ~/.local/share/modelbook), and how it replaces a file
atomically (temp file in the same folder, fsync, rename): every writer that must not leave half a file uses these."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def home() -> Path:
    """The state folder (results database, run artifacts, model caches, quiz progress)."""
    env = os.environ.get("MODELBOOK_HOME")
    base = Path(env).expanduser() if env else Path.home() / ".local" / "share" / "modelbook"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        from modelbook.core.errors import ModelbookError

        raise ModelbookError(f"cannot use {base} as the state folder ({e.strerror or e}): "
                             f"fix its permissions or set MODELBOOK_HOME to a writable folder") from None
    return base


def cache_dir(name: str) -> Path:
    """A cache sub-folder, e.g. cache_dir("models") for converted weights."""
    path = home() / "cache" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Replace `path` so that a crash leaves either the old file or the new one, never half of it.

    Yields a temp file in the same folder (created empty, mode 0600) for the caller, or a program it runs, to
    write; when the block ends without an error the temp file is fsynced, renamed over `path` and the folder
    fsynced. If the block raises, the temp file is removed and `path` is left as it was.

        with atomic_path(out / "speech.wav") as tmp:
            subprocess.run(["espeak-ng", "-w", str(tmp), text], check=True)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (atomic_path: temp file in the same folder, fsync, rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """`text` as UTF-8, written atomically (atomic_write_bytes)."""
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
