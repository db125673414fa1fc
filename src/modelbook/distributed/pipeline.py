"""Pipeline parallelism from scratch: consecutive layers on consecutive ranks, micro-batches streamed through.

Rank s holds stage s (a slice of the layers). A mini-batch of B examples is cut into m micro-batches.
GPipe's schedule (Huang et al. 2019) runs every micro-batch forward through the pipeline, then every one
backward, accumulating the gradients, then takes one optimizer step on each stage:

    forward:  stage s: x_j = recv(s−1) (stage 0: micro-batch j), a_j = stage(x_j), send(a_j, s+1)
              last stage: ℓ_j = loss(a_j, y_j) · |micro-batch j| / B
    backward: last stage: ℓ_j.backward();  other stages: a_j.backward(recv(s+1));  then send(x_j.grad, s−1)

Because Σ_j ℓ_j is exactly the mini-batch mean loss, the accumulated gradients equal those of one process on
the whole mini-batch, and so do the parameters after any number of steps (the lab checks this to 1e-6).

Only activations (forward) and activation gradients (backward) cross stage boundaries, neighbour to neighbour,
which is why PP crosses slow links better than tensor parallelism. The cost is the bubble: with p stages and
m micro-batches each stage idles for a fraction (p − 1)/(m + p − 1) of the step, so more micro-batches help.
1F1B (PipeDream-Flush, Narayanan et al. 2021) has the same bubble but starts backward passes early, so a stage
keeps at most p micro-batches' activations instead of m; this file implements GPipe, the simpler one.

Cross-check: tests/distributed/test_pipeline.py compares the gradients with torch.distributed.pipelining's
ScheduleGPipe on the same stages and data, and with a single process.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

_MAX_DIMS = 8


def send_tensor(t: torch.Tensor, dst: int) -> None:
    """Send a float tensor of any shape: first a fixed-size header (ndim, *shape), then the data."""
    header = torch.zeros(_MAX_DIMS + 1, dtype=torch.int64)
    header[0] = t.dim()
    header[1:1 + t.dim()] = torch.tensor(t.shape, dtype=torch.int64)
    dist.send(header, dst)
    dist.send(t.contiguous(), dst)


def recv_tensor(src: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    header = torch.empty(_MAX_DIMS + 1, dtype=torch.int64)
    dist.recv(header, src)
    shape = tuple(int(s) for s in header[1:1 + int(header[0])])
    t = torch.empty(shape, dtype=dtype)
    dist.recv(t, src)
    return t


@dataclass
class StepStats:
    loss: float | None  # the mini-batch mean loss (last stage only)
    step_s: float  # wall time of the step on this rank
    wait_s: float  # time this rank spent blocked waiting for a neighbour (the bubble, plus communication)


def gpipe_step(stage: nn.Module, rank: int, world: int, n_micro: int, inputs: torch.Tensor | None = None,
               targets: torch.Tensor | None = None, loss_fn=nn.functional.cross_entropy,
               dtype: torch.dtype = torch.float32) -> StepStats:
    """Forward and backward of one mini-batch through a `world`-stage pipeline, as stage `rank`.

    Stage 0 passes `inputs` (B, ...); the last stage passes `targets` (B,). Gradients are accumulated into
    the stage's parameters: the caller zeroes them before and steps its optimizer after.
    """
    first, last = rank == 0, rank == world - 1
    t0, wait = time.perf_counter(), 0.0
    xs = inputs.chunk(n_micro) if first else None
    ys = targets.chunk(n_micro) if last else None
    batch = len(targets) if last else None

    def recv(src):
        nonlocal wait
        t = time.perf_counter()
        x = recv_tensor(src, dtype)
        wait += time.perf_counter() - t
        return x

    # -- forward: every micro-batch through this stage --
    saved: list[tuple[torch.Tensor, torch.Tensor]] = []  # (stage input, stage output or weighted loss)
    for j in range(n_micro):
        x = xs[j] if first else recv(rank - 1).requires_grad_(True)
        a = stage(x)
        if last:
            a = loss_fn(a, ys[j]) * (len(ys[j]) / batch)  # Σ_j of these = the mini-batch mean loss
        else:
            send_tensor(a.detach(), rank + 1)
        saved.append((x, a))
    # -- backward: in the same order, so every send meets its receive --
    total = 0.0
    for x, a in saved:
        if last:
            a.backward()
            total += a.item()
        else:
            a.backward(recv(rank + 1))
        if not first:
            send_tensor(x.grad, rank - 1)
    return StepStats(total if last else None, time.perf_counter() - t0, wait)


def bubble_fraction(n_stages: int, n_micro: int) -> float:
    """The idle fraction of a GPipe / 1F1B step with equal stages: (p − 1) / (m + p − 1)."""
    return (n_stages - 1) / (n_micro + n_stages - 1)
