"""Expert parallelism: each rank holds E / W of a SparseMoE's experts, and tokens travel to their experts and back.

    route locally (the router is replicated)  →  all-to-all: every assignment (token row, chosen expert) goes to the
    rank that owns its expert  →  that rank runs its experts  →  all-to-all back  →  the sender applies the gate
    weights and sums.

What it trades (GShard, Lepikhin et al. 2021; Switch, Fedus et al. 2021 §5): the experts' memory is divided by W,
and each step pays two all-to-alls. With N tokens per rank, k experts per token, width d and b bytes per number,
a router that spreads tokens evenly sends the fraction (W − 1)/W of the N·k rows off the rank:

    bytes sent off-rank per MoE layer and forward ≈ 2 · N · k · d · b · (W − 1) / W      (dispatch + combine)

A collapsed router breaks both halves of the bargain: the ranks holding the favourite experts do nearly all the
expert work while the others wait.

    expert_parallel_forward(moe, x)    the layer's output on this rank's tokens, and the bytes and rows it moved
    main(config.json)                  what torchrun runs for the `moe` lab (equality with one process, bytes, load)

Cross-checks: tests/distributed/test_expert_parallel.py (2 gloo ranks: output and input gradient equal to the
whole layer in one process; bytes equal to the formula's exact count from the routing).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from modelbook.distributed.worker import gather, write_and_close
from modelbook.nn.moe import MoEConfig, SparseMoE, route


class AllToAll(torch.autograd.Function):
    """all_to_all_single with autograd: rows x[sum(send[:j]) : sum(send[:j+1])] go to rank j. The gradient takes the
    way back: the same exchange with the split sizes swapped."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, send: list[int], recv: list[int]) -> torch.Tensor:
        ctx.send, ctx.recv = send, recv
        out = x.new_empty(sum(recv), *x.shape[1:])
        dist.all_to_all_single(out, x.contiguous(), recv, send)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return AllToAll.apply(grad, ctx.recv, ctx.send), None, None


def owned(n_experts: int, rank: int, world: int) -> range:
    """The experts rank `rank` holds: a contiguous block of E / W."""
    per = n_experts // world
    return range(rank * per, (rank + 1) * per)


def send_sizes_by_rank(experts: torch.Tensor, n_experts: int, world: int) -> torch.Tensor:
    """(W,) how many of these assignments go to each rank (the owner of each chosen expert)."""
    return torch.bincount(experts.flatten() // (n_experts // world), minlength=world)


def expert_parallel_forward(moe: SparseMoE, x: torch.Tensor, rank: int, world: int) -> tuple[torch.Tensor, dict]:
    """moe(x) for this rank's tokens x (N, d), computed with only this rank's experts (the others' weights are never
    read). Returns the output and {'bytes_off_rank', 'rows_computed', 'bytes_expert_weights'} for this rank."""
    c = moe.cfg
    if c.n_experts % world or c.capacity_factor is not None:
        raise ValueError("expert parallelism here needs n_experts divisible by the world size and no capacity limit")
    r = route(moe.router(x), c.top_k, c.score, c.normalize, moe.bias)
    token = torch.arange(len(x)).repeat_interleave(c.top_k)                # one row per assignment
    expert, weight = r.experts.flatten(), r.weights.flatten()
    order = torch.argsort(expert, stable=True)                              # grouped by expert, hence by owner rank
    token, expert, weight = token[order], expert[order], weight[order]
    send = send_sizes_by_rank(expert, c.n_experts, world)
    recv = torch.empty_like(send)
    dist.all_to_all_single(recv, send)                                       # how many rows each rank will send me
    send_sizes, recv_sizes = send.tolist(), recv.tolist()
    rows = AllToAll.apply(x[token], send_sizes, recv_sizes)                # dispatch
    their_expert = torch.empty(sum(recv_sizes), dtype=torch.long)
    dist.all_to_all_single(their_expert, expert, recv_sizes, send_sizes)    # which of my experts each row wants
    out = torch.zeros_like(rows)
    for e in owned(c.n_experts, rank, world):
        idx = (their_expert == e).nonzero(as_tuple=True)[0]
        if len(idx):
            gate, up = F.linear(rows[idx], moe.experts.gate_up[e]).chunk(2, dim=-1)
            out = out.index_add(0, idx, F.linear(F.silu(gate) * up, moe.experts.down[e]))
    back = AllToAll.apply(out, recv_sizes, send_sizes)                     # combine
    y = torch.zeros_like(x).index_add(0, token, back * weight[:, None].to(x.dtype))
    b = x.element_size() * x.shape[1]
    off = sum(send_sizes) - send_sizes[rank] + sum(recv_sizes) - recv_sizes[rank]   # rows out (dispatch) + rows back (combine)
    held = [moe.experts.gate_up[e] for e in owned(c.n_experts, rank, world)] + [moe.experts.down[e] for e in owned(c.n_experts, rank, world)]
    return y, {"bytes_off_rank": off * b, "rows_computed": len(rows),
               "bytes_expert_weights": sum(t.numel() * t.element_size() for t in held)}


def off_rank_bytes_formula(n_tokens: int, top_k: int, d: int, bytes_per: int, world: int) -> float:
    """2 · N · k · d · b · (W − 1)/W: dispatch + combine of an even router."""
    return 2 * n_tokens * top_k * d * bytes_per * (world - 1) / world


def _case(cfg: dict, rank: int, world: int, collapsed: bool) -> dict:
    moe_cfg = MoEConfig(cfg["d_model"], cfg["d_expert"], cfg["n_experts"], cfg["top_k"])
    torch.manual_seed(cfg["seed"])                                           # the same layer on every rank
    moe = SparseMoE(moe_cfg)
    if collapsed:   # a router that prefers the first rank's experts for every token (what collapse looks like)
        moe.bias[list(owned(moe_cfg.n_experts, 0, world))] = 1.0
    gen = torch.Generator().manual_seed(cfg["seed"] + 1 + rank)             # each rank its own tokens
    x = torch.randn(cfg["n_tokens"], moe_cfg.d_model, generator=gen)
    with torch.no_grad():
        ref = moe(x)
        dist.barrier()
        t0 = time.perf_counter()
        y, stats = expert_parallel_forward(moe, x, rank, world)
        seconds = time.perf_counter() - t0
    full_bytes = sum(t.numel() * t.element_size() for t in (moe.experts.gate_up, moe.experts.down))
    return dict(stats, max_diff_vs_single=float((y - ref).abs().max()), seconds=seconds, bytes_all_experts=full_bytes)


def main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    out = {"world": world}
    for name, collapsed in (("even", False), ("collapsed", True)):
        out[name] = gather(_case(cfg, rank, world, collapsed), world)
    write_and_close(cfg, rank, out)


if __name__ == "__main__":
    main(sys.argv[1])
