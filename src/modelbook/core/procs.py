"""Processes and loopback ports: what the torchrun launcher, the model server's runners and the folders that
sweep up after dead writers (core/store.py, serving/registry.py) share."""
from __future__ import annotations

import os
import socket
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether process `pid` exists (signal 0 probes without sending; EPERM means it exists but is not ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (the usual small race: bind it soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(threads: int = 1) -> dict[str, str]:
    """The environment for a child Python process: this modelbook first on the path, `threads` OpenMP threads,
    gloo pinned to loopback, library warnings off (the parent records its own)."""
    import modelbook

    env = dict(os.environ)
    src = str(Path(modelbook.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(OMP_NUM_THREADS=str(threads), GLOO_SOCKET_IFNAME="lo", MASTER_ADDR="127.0.0.1",
               PYTHONWARNINGS="ignore", TORCH_CPP_LOG_LEVEL="ERROR")
    return env
