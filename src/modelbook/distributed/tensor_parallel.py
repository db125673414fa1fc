"""Tensor parallelism from scratch: Megatron-LM's column-parallel then row-parallel MLP.

The MLP Z = φ(X A) B, with X (n, d), A (d, h), B (h, o) and an element-wise activation φ (GeLU, ReLU),
is split over p ranks without changing what it computes (Shoeybi et al. 2019, "Megatron-LM", §3):

    A = [A_1 | ... | A_p]    split by COLUMNS, A_i (d, h/p):   Y_i = φ(X A_i)      no communication,
                                                                                   because φ acts element-wise
    B = [B_1; ...; B_p]      split by ROWS,    B_i (h/p, o):   Z = Σ_i Y_i B_i    one all-reduce (sum)

(nn.Linear stores W = Aᵀ, shape (out, in): the column split of A is a split of W's rows, and the row split
of B is a split of W's columns.) Each rank holds 1/p of both weight matrices and of the hidden activation Y.

Autograd needs two conjugate operators, written out below:

    f  (enter the parallel region):  forward identity,    backward all-reduce
        X is replicated; each rank's branch contributes a partial dL/dX, and the true gradient is their sum.
    g  (leave the parallel region):  forward all-reduce,  backward identity
        Z is replicated, so dL/dZ is the same on every rank and flows unchanged into each partial Y_i B_i.

So one MLP block costs one all-reduce of the (n, o) activation forward and one of the (n, d) input gradient
backward. The bias of the row-parallel layer is replicated and added once, after the all-reduce.

Where the source goes wrong: "model parallelism trains sub-models separately and merges them". Nothing is
trained separately; the ranks exchange activations and gradients at every step, and the sharded model is
the same function as the unsharded one (tests/distributed/test_tensor_parallel.py: equal outputs and gradients
to the unsharded layer and to torch's DTensor ColwiseParallel/RowwiseParallel).
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class _CopyToParallelRegion(torch.autograd.Function):
    """f: identity forward, all-reduce (sum) of the gradient backward."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


class _ReduceFromParallelRegion(torch.autograd.Function):
    """g: all-reduce (sum) forward, identity backward."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad


def copy_to_parallel_region(x: torch.Tensor) -> torch.Tensor:
    return _CopyToParallelRegion.apply(x)


def reduce_from_parallel_region(x: torch.Tensor) -> torch.Tensor:
    return _ReduceFromParallelRegion.apply(x)


def _shard(n: int, rank: int, world: int) -> slice:
    if n % world:
        raise ValueError(f"dimension {n} is not divisible by the tensor-parallel size {world}")
    size = n // world
    return slice(rank * size, (rank + 1) * size)


class ColumnParallelLinear(nn.Module):
    """y_i = x W_iᵀ + b_i: this rank's out_features/p output features. Input replicated, output sharded."""

    def __init__(self, in_features: int, out_features: int, rank: int, world: int, bias: bool = True):
        super().__init__()
        rows = _shard(out_features, rank, world)
        self.rank, self.world = rank, world
        self.weight = nn.Parameter(torch.empty(rows.stop - rows.start, in_features))  # (h/p, d)
        self.bias = nn.Parameter(torch.empty(rows.stop - rows.start)) if bias else None

    @classmethod
    def from_linear(cls, full: nn.Linear, rank: int, world: int) -> "ColumnParallelLinear":
        """This rank's shard of an existing (unsharded) layer: rows of W, entries of b."""
        layer = cls(full.in_features, full.out_features, rank, world, bias=full.bias is not None)
        rows = _shard(full.out_features, rank, world)
        with torch.no_grad():
            layer.weight.copy_(full.weight[rows])
            if full.bias is not None:
                layer.bias.copy_(full.bias[rows])
        return layer.to(full.weight.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (n, d) replicated -> (n, h/p) sharded
        return nn.functional.linear(copy_to_parallel_region(x), self.weight, self.bias)


class RowParallelLinear(nn.Module):
    """z = Σ_i y_i W_iᵀ + b: this rank holds in_features/p input columns of W; the bias is replicated."""

    def __init__(self, in_features: int, out_features: int, rank: int, world: int, bias: bool = True):
        super().__init__()
        cols = _shard(in_features, rank, world)
        self.rank, self.world = rank, world
        self.weight = nn.Parameter(torch.empty(out_features, cols.stop - cols.start))  # (o, h/p)
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None

    @classmethod
    def from_linear(cls, full: nn.Linear, rank: int, world: int) -> "RowParallelLinear":
        layer = cls(full.in_features, full.out_features, rank, world, bias=full.bias is not None)
        cols = _shard(full.in_features, rank, world)
        with torch.no_grad():
            layer.weight.copy_(full.weight[:, cols])
            if full.bias is not None:
                layer.bias.copy_(full.bias)
        return layer.to(full.weight.dtype)

    def forward(self, y: torch.Tensor) -> torch.Tensor:  # (n, h/p) sharded -> (n, o) replicated
        z = reduce_from_parallel_region(nn.functional.linear(y, self.weight))
        return z + self.bias if self.bias is not None else z


class TensorParallelMLP(nn.Module):
    """φ(X A) B with A column-parallel and B row-parallel: one all-reduce forward, one backward."""

    def __init__(self, fc1: ColumnParallelLinear, fc2: RowParallelLinear, activation: nn.Module):
        super().__init__()
        self.fc1, self.act, self.fc2 = fc1, activation, fc2

    @classmethod
    def from_mlp(cls, fc1: nn.Linear, activation: nn.Module, fc2: nn.Linear, rank: int, world: int) -> "TensorParallelMLP":
        """Shard an unsharded fc1 → activation → fc2 block (the same weights, 1/world of them per rank)."""
        return cls(ColumnParallelLinear.from_linear(fc1, rank, world), RowParallelLinear.from_linear(fc2, rank, world), activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def gather_column_shards(shard: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """All-gather the shards of a tensor along `dim` (to compare a sharded weight with the full one)."""
    parts = [torch.empty_like(shard) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, shard.contiguous())
    return torch.cat(parts, dim=dim)
