"""Run a function on 2 gloo ranks in spawned processes (no torchrun), for unit tests (DEPENDENCIES.md)."""
from __future__ import annotations

import os


def _entry(rank, world, port, fn, args):
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        fn(rank, world, *args)
    finally:
        dist.destroy_process_group()


def run_ranks(fn, *args, world: int = 2) -> None:
    """fn(rank, world, *args) on `world` processes; raises if any rank raised (its assertion included)."""
    import torch.multiprocessing as mp

    from modelbook.core.procs import free_port

    mp.spawn(_entry, args=(world, free_port(), fn, args), nprocs=world, join=True)
