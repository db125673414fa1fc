"""Start real worker processes with torchrun (torch.distributed.run) on this machine, and collect what they wrote.

    results = launch("modelbook.distributed.worker", config, nproc=2, out=folder)

torchrun starts `nproc` processes, gives each its RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT, and the workers
call init_process_group("gloo"). The same worker runs multi-node: give torchrun --nnodes and a rendezvous
endpoint on a reachable interface instead of the loopback one used here.

Loopback only: the rendezvous address is 127.0.0.1 and gloo's sockets are pinned to `lo`
(GLOO_SOCKET_IFNAME). One thing we cannot pin: the elastic agent's TCPStore listens on all interfaces of its
port (torch 2.13 has no bind option), for the seconds the run lasts; run inside a network namespace or behind a
firewall on a shared host.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_text


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env(threads: int = 1) -> dict[str, str]:
    """The environment for worker processes: this modelbook first on the path, loopback, `threads` per rank."""
    import modelbook

    env = dict(os.environ)
    src = str(Path(modelbook.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(OMP_NUM_THREADS=str(threads), GLOO_SOCKET_IFNAME="lo", MASTER_ADDR="127.0.0.1",
               PYTHONWARNINGS="ignore", TORCH_CPP_LOG_LEVEL="ERROR")
    return env


def launch(module: str, config: dict, nproc: int, out: Path, timeout_s: float = 600, threads: int = 1) -> dict:
    """Run `python -m torch.distributed.run ... -m module config.json` and return the JSON the workers wrote
    to config["result"]. Raises a one-line ModelbookError (with the workers' last error line) on failure."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path, result_path = out / f"{module.rsplit('.', 1)[-1]}-config.json", out / f"{module.rsplit('.', 1)[-1]}-result.json"
    result_path.unlink(missing_ok=True)
    atomic_write_text(cfg_path, json.dumps(dict(config, result=str(result_path))))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--node-rank=0",
           f"--nproc-per-node={nproc}", "--master-addr=127.0.0.1", f"--master-port={free_port()}",
           "--module", module, str(cfg_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=worker_env(threads))  # nosec B603 -- fixed argv, no shell
    except subprocess.TimeoutExpired:
        raise ModelbookError(f"torchrun workers did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0 or not result_path.is_file():
        raise ModelbookError(f"torchrun exited with {proc.returncode}: {_last_error(proc.stderr)}")
    return json.loads(result_path.read_text())


def _last_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (errors or lines or ["no output"])[-1][:300]
