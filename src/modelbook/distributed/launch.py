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
import re
import subprocess
import sys
from pathlib import Path

from modelbook.core.errors import ModelbookError
from modelbook.core.paths import atomic_write_text
from modelbook.core.procs import child_env, free_port


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
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=child_env(threads))  # nosec B603 # fixed argv, no shell
    except subprocess.TimeoutExpired:
        raise ModelbookError(f"torchrun workers did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0 or not result_path.is_file():
        raise ModelbookError(f"torchrun exited with {proc.returncode}: {_last_error(proc.stderr)}")
    return json.loads(result_path.read_text())


def _last_error(stderr: str) -> str:
    """The line worth showing: the last exception a worker raised ("FileNotFoundError: ..."), else the last line
    mentioning an error (torchrun's own ChildFailedError summary only points at its docs), else the last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    raised = [ln for ln in lines if re.match(r"^(\[rank\d+\]:\s*)?(?!torch\.distributed\.elastic)[\w.]*(Error|Exception|Interrupt)\w*: \S", ln)]
    errors = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (raised or errors or lines or ["no output"])[-1][:300]
