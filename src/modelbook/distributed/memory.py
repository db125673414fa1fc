"""Bytes held by a rank: parameters, gradients and optimizer state (sharded DTensors count their local shard).

ZeRO's accounting (Rajbhandari et al. 2020, §3): with Ψ parameters, N_d data-parallel ranks and K bytes of
optimizer state per parameter, stage 1 keeps KΨ/N_d of optimizer state per rank, stage 2 also shards the
gradients, stage 3 (= FSDP full sharding) also the parameters. Adam in fp32 keeps two states (m, v): K = 8.
"""
from __future__ import annotations

from typing import Iterable

import torch


def _local(t: torch.Tensor) -> torch.Tensor:
    return t.to_local() if hasattr(t, "to_local") else t  # a DTensor's shard on this rank


def tensor_bytes(tensors: Iterable[torch.Tensor | None]) -> int:
    return int(sum(_local(t).numel() * _local(t).element_size() for t in tensors if t is not None))


def optimizer_state_bytes(optimizer: torch.optim.Optimizer | None, params: list | None = None, n_states: int = 2) -> int:
    """Bytes of the tensors in `optimizer.state` (m, v, step...), or, with `params`, what Adam's two fp32
    states plus one step counter per parameter tensor would take for those parameters (the expected value)."""
    if params is not None:
        return int(sum(n_states * _local(p).numel() * 4 + 4 for p in params))
    return int(sum(tensor_bytes(v for v in s.values() if torch.is_tensor(v)) for s in optimizer.state.values()))
