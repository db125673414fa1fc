"""What every torchrun process runs for the `parallel` lab: `python -m modelbook.distributed.worker CONFIG.json`.

The parts run one after another on every rank, in the same order (collectives must match across ranks):

  ddp           DDP on `world` ranks vs one process trained on the union of their batches (DistributedSampler)
  accumulation  gradient accumulation vs the large batch, in one process and under DDP with no_sync()
  tensor        our column-/row-parallel MLP vs the unsharded layer: outputs, gradients, parameters after training
  pipeline      our GPipe pipeline over `world` stages vs one process; the bubble measured for several m
  zero          ZeroRedundancyOptimizer (ZeRO-1) and FSDP2 fully_shard (ZeRO-3) vs plain DDP + Adam: equal
                parameters; parameter, gradient and optimizer-state bytes held by each rank
  throughput    training samples/s of one process alone vs `world` ranks with DDP (one thread per rank)

Every rank computes the single-process reference itself (the same seed gives the same initial weights), so each
comparison is local; the ranks' numbers are gathered on rank 0, which writes the result file.
"""
from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.functional import cross_entropy
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DistributedSampler

from modelbook.core.paths import atomic_write_text
from modelbook.distributed.memory import optimizer_state_bytes, tensor_bytes
from modelbook.distributed.pipeline import bubble_fraction, gpipe_step
from modelbook.distributed.tensor_parallel import TensorParallelMLP, gather_column_shards


def mlp(sizes: list[int], act=nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def max_diff(a, b) -> float:
    """Largest absolute difference between two parameter lists (or modules)."""
    pa = a.parameters() if isinstance(a, nn.Module) else a
    pb = b.parameters() if isinstance(b, nn.Module) else b
    return max(float((x.detach() - y.detach()).abs().max()) for x, y in zip(pa, pb, strict=True))


def rank_batches(n: int, per_rank: int, rank: int, world: int, epoch: int, seed: int) -> list[list[int]]:
    """Rank `rank`'s batches of one epoch, exactly as DistributedSampler(shuffle, drop_last) + set_epoch gives them."""
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True)
    sampler.set_epoch(epoch)
    idx = list(sampler)
    return [idx[k:k + per_rank] for k in range(0, len(idx) - per_rank + 1, per_rank)]


def global_batches(n: int, per_rank: int, world: int, n_steps: int, seed: int):
    """Yield (this step's batch of every rank) for n_steps steps, over as many epochs as needed."""
    step, epoch = 0, 0
    while True:
        per = [rank_batches(n, per_rank, r, world, epoch, seed) for r in range(world)]
        for k in range(len(per[0])):
            if step == n_steps:
                return
            yield [p[k] for p in per]
            step += 1
        epoch += 1


# -- data parallel -----------------------------------------------------------------------------------
def part_ddp(cfg, x, y, rank, world) -> dict:
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

    torch.manual_seed(cfg["seed"])
    ref = mlp([x.shape[1], cfg["hidden"], cfg["hidden"], 10])
    ddp = DDP(copy.deepcopy(ref))
    sent = {"bytes": 0}

    def counting_allreduce(state, bucket):  # DDP's own all-reduce, with the bytes counted
        sent["bytes"] += bucket.buffer().numel() * bucket.buffer().element_size()
        return default_hooks.allreduce_hook(state, bucket)

    ddp.register_comm_hook(None, counting_allreduce)
    opt = torch.optim.SGD(ddp.parameters(), lr=cfg["lr"], momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=cfg["lr"], momentum=0.9)
    per_rank = cfg["batch_size"] // world
    for batches in global_batches(len(x), per_rank, world, cfg["n_steps"], cfg["seed"]):
        mine, union = batches[rank], sum(batches, [])
        opt.zero_grad()
        cross_entropy(ddp(x[mine]), y[mine]).backward()  # the all-reduce runs inside backward()
        opt.step()
        ref_opt.zero_grad()
        cross_entropy(ref(x[union]), y[union]).backward()
        ref_opt.step()
    flat = torch.cat([p.detach().flatten() for p in ddp.module.parameters()])
    rank0 = flat.clone()
    dist.broadcast(rank0, 0)
    return {"max_diff_vs_single": max_diff(ddp.module, ref), "replica_diff": float((flat - rank0).abs().max()),
            "allreduce_bytes_per_step": sent["bytes"] / cfg["n_steps"], "param_bytes": tensor_bytes(ref.parameters())}


def part_accumulation(cfg, x, y, rank, world) -> dict:
    K, B = cfg["n_micro"], cfg["batch_size"]
    torch.manual_seed(cfg["seed"] + 1)
    big = mlp([x.shape[1], cfg["hidden"], 10])
    acc, ddp_ref = copy.deepcopy(big), copy.deepcopy(big)
    ddp = DDP(copy.deepcopy(big))
    opts = [torch.optim.SGD(m.parameters(), lr=cfg["lr"]) for m in (big, acc, ddp, ddp_ref)]
    g = torch.Generator().manual_seed(cfg["seed"])
    # 1. one process: K micro-batches of B/K, each loss divided by K, then one step == one batch of B
    for _ in range(cfg["n_steps"]):
        idx = torch.randperm(len(x), generator=g)[:B]
        for o in opts[:2]:
            o.zero_grad()
        cross_entropy(big(x[idx]), y[idx]).backward()
        for mb in idx.chunk(K):
            (cross_entropy(acc(x[mb]), y[mb]) / K).backward()
        opts[0].step()
        opts[1].step()
    # 2. DDP: each rank K micro-batches of B/(world·K); all-reduce only on the last (no_sync) == one process on B
    for batches in global_batches(len(x), B // world, world, cfg["n_steps"], cfg["seed"] + 1):
        opts[2].zero_grad()
        micro = torch.tensor(batches[rank]).chunk(K)
        for j, mb in enumerate(micro):
            if j < K - 1:
                with ddp.no_sync():
                    (cross_entropy(ddp(x[mb]), y[mb]) / K).backward()
            else:
                (cross_entropy(ddp(x[mb]), y[mb]) / K).backward()
        opts[2].step()
        union = sum(batches, [])
        opts[3].zero_grad()
        cross_entropy(ddp_ref(x[union]), y[union]).backward()
        opts[3].step()
    return {"single_max_diff": max_diff(acc, big), "ddp_no_sync_max_diff": max_diff(ddp.module, ddp_ref)}


# -- tensor parallel ---------------------------------------------------------------------------------
def part_tensor(cfg, x, y, rank, world) -> dict:
    torch.manual_seed(cfg["seed"] + 2)
    fc1, fc2 = nn.Linear(x.shape[1], cfg["hidden"]), nn.Linear(cfg["hidden"], 10)
    ref = nn.Sequential(fc1, nn.GELU(), fc2)
    tp = TensorParallelMLP.from_mlp(fc1, nn.GELU(), fc2, rank, world)
    rows = slice(rank * cfg["hidden"] // world, (rank + 1) * cfg["hidden"] // world)
    xb, yb = x[:cfg["batch_size"]], y[:cfg["batch_size"]]  # the same (replicated) input on every rank
    x_ref, x_tp = xb.clone().requires_grad_(True), xb.clone().requires_grad_(True)
    out_ref, out_tp = ref(x_ref), tp(x_tp)
    cross_entropy(out_ref, yb).backward()
    cross_entropy(out_tp, yb).backward()
    res = {
        "forward_max_diff": float((out_tp - out_ref).abs().max()),
        "input_grad_max_diff": float((x_tp.grad - x_ref.grad).abs().max()),
        "weight_grad_max_diff": max(float((tp.fc1.weight.grad - fc1.weight.grad[rows]).abs().max()),
                                    float((tp.fc2.weight.grad - fc2.weight.grad[:, rows]).abs().max()),
                                    float((tp.fc2.bias.grad - fc2.bias.grad).abs().max())),
        "param_bytes_per_rank": tensor_bytes(tp.parameters()), "param_bytes_full": tensor_bytes(ref.parameters()),
    }
    opt, ref_opt = torch.optim.SGD(tp.parameters(), lr=cfg["lr"]), torch.optim.SGD(ref.parameters(), lr=cfg["lr"])
    g = torch.Generator().manual_seed(cfg["seed"] + 2)
    for _ in range(cfg["n_steps"]):
        idx = torch.randperm(len(x), generator=g)[:cfg["batch_size"]]
        for model, o in ((tp, opt), (ref, ref_opt)):
            o.zero_grad()
            cross_entropy(model(x[idx]), y[idx]).backward()
            o.step()
    res["trained_max_diff"] = max(float((gather_column_shards(tp.fc1.weight.detach(), 0) - fc1.weight.detach()).abs().max()),
                                  float((gather_column_shards(tp.fc2.weight.detach(), 1) - fc2.weight.detach()).abs().max()))
    return res


# -- pipeline parallel -------------------------------------------------------------------------------
def _pipeline_stages(cfg, n_in, rank, world, seed):
    torch.manual_seed(seed)
    h = cfg["hidden"]
    blocks = [nn.Sequential(nn.Linear(n_in, h), nn.ReLU())] + [nn.Sequential(nn.Linear(h, h), nn.ReLU()) for _ in range(cfg["pp_blocks"] - 2)] + [nn.Linear(h, 10)]
    bounds = np.linspace(0, len(blocks), world + 1).round().astype(int)
    ref = nn.Sequential(*blocks)
    mine = nn.Sequential(*copy.deepcopy(blocks[bounds[rank]:bounds[rank + 1]]))
    ref_mine = [p for b in blocks[bounds[rank]:bounds[rank + 1]] for p in b.parameters()]
    return ref, mine, ref_mine


def part_pipeline(cfg, x, y, rank, world) -> dict:
    ref, stage, ref_mine = _pipeline_stages(cfg, x.shape[1], rank, world, cfg["seed"] + 3)
    opt, ref_opt = torch.optim.SGD(stage.parameters(), lr=cfg["lr"]), torch.optim.SGD(ref.parameters(), lr=cfg["lr"])
    g = torch.Generator().manual_seed(cfg["seed"] + 3)
    first, last = rank == 0, rank == world - 1
    for _ in range(cfg["n_steps"]):
        idx = torch.randperm(len(x), generator=g)[:cfg["batch_size"]]
        opt.zero_grad()
        gpipe_step(stage, rank, world, cfg["n_micro"], x[idx] if first else None, y[idx] if last else None)
        opt.step()
        ref_opt.zero_grad()
        cross_entropy(ref(x[idx]), y[idx]).backward()
        ref_opt.step()
    res = {"max_diff_vs_single": max_diff(list(stage.parameters()), ref_mine), "bubble": {}}
    # the bubble: this rank's waiting time / step time, for several numbers of micro-batches
    for m in cfg["pp_micro_list"]:
        waits, steps = [], []
        for _ in range(cfg["pp_timing_steps"]):
            idx = torch.randperm(len(x), generator=g)[:cfg["pp_timing_batch"]]
            dist.barrier()
            s = gpipe_step(stage, rank, world, m, x[idx] if first else None, y[idx] if last else None)
            stage.zero_grad()
            waits.append(s.wait_s)
            steps.append(s.step_s)
        res["bubble"][str(m)] = {"measured_idle": float(np.median(waits) / np.median(steps)), "theory": bubble_fraction(world, m)}
    return res


# -- ZeRO-1 and FSDP2 (ZeRO-3) ---------------------------------------------------------------------
def part_zero(cfg, x, y, rank, world) -> dict:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.optim import ZeroRedundancyOptimizer

    torch.manual_seed(cfg["seed"] + 4)
    base = mlp([x.shape[1]] + [cfg["zero_hidden"]] * cfg["zero_layers"] + [10])
    plain, zero = DDP(copy.deepcopy(base)), DDP(copy.deepcopy(base))
    opt_plain = torch.optim.Adam(plain.parameters(), lr=cfg["adam_lr"])
    opt_zero = ZeroRedundancyOptimizer(zero.parameters(), optimizer_class=torch.optim.Adam, lr=cfg["adam_lr"])
    sharded = copy.deepcopy(base)
    mesh = init_device_mesh("cpu", (world,))
    for layer in sharded:
        if isinstance(layer, nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(sharded, mesh=mesh)
    opt_fsdp = torch.optim.Adam(sharded.parameters(), lr=cfg["adam_lr"])
    for batches in global_batches(len(x), cfg["batch_size"] // world, world, cfg["n_steps"], cfg["seed"] + 4):
        mine = batches[rank]
        for model, o in ((plain, opt_plain), (zero, opt_zero), (sharded, opt_fsdp)):
            o.zero_grad(set_to_none=False)
            cross_entropy(model(x[mine]), y[mine]).backward()
            o.step()
    full_fsdp = [p.full_tensor() for p in sharded.parameters()]
    mine_zero = [p for group in opt_zero.optim.param_groups for p in group["params"]]
    return {
        "zero1_max_diff_vs_ddp": max_diff(zero.module, plain.module),
        "fsdp_max_diff_vs_ddp": max_diff(full_fsdp, list(plain.module.parameters())),
        "n_params": sum(p.numel() for p in base.parameters()),
        "largest_param_share": max(p.numel() for p in base.parameters()) / sum(p.numel() for p in base.parameters()),
        "ddp": {"params": tensor_bytes(plain.parameters()), "grads": tensor_bytes(p.grad for p in plain.parameters()),
                "optimizer": optimizer_state_bytes(opt_plain)},
        "zero1": {"params": tensor_bytes(zero.parameters()), "grads": tensor_bytes(p.grad for p in zero.parameters()),
                  "optimizer": optimizer_state_bytes(opt_zero.optim),
                  "optimizer_expected": optimizer_state_bytes(None, mine_zero, n_states=2)},
        "fsdp": {"params": tensor_bytes(sharded.parameters()), "grads": tensor_bytes(p.grad for p in sharded.parameters()),
                 "optimizer": optimizer_state_bytes(opt_fsdp)},
    }


# -- throughput --------------------------------------------------------------------------------------
def part_throughput(cfg, x, y, rank, world) -> dict:
    torch.manual_seed(cfg["seed"] + 5)
    base = mlp([x.shape[1], cfg["tp_hidden"], cfg["tp_hidden"], 10])
    B, steps = cfg["tp_batch"], cfg["tp_steps"]
    g = torch.Generator().manual_seed(cfg["seed"] + 5 + rank)

    def train(model, per_rank):
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        for i in range(steps + 2):  # two warm-up steps
            if i == 2:
                if isinstance(model, DDP):
                    dist.barrier()
                t0 = time.perf_counter()
            idx = torch.randint(0, len(x), (per_rank,), generator=g)
            opt.zero_grad()
            cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        return time.perf_counter() - t0

    one = train(copy.deepcopy(base), B) if rank == 0 else 0.0  # the other ranks wait at the barrier
    dist.barrier()
    t = torch.tensor(train(DDP(copy.deepcopy(base)), B // world))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return {"samples_per_s_1": B * steps / one if rank == 0 else None, "samples_per_s_world": B * steps / float(t)}


PARTS = {"ddp": part_ddp, "accumulation": part_accumulation, "tensor": part_tensor, "pipeline": part_pipeline,
         "zero": part_zero, "throughput": part_throughput}


def gather(mine, world: int) -> list:
    """Every rank's `mine` (any picklable object), in rank order, on every rank."""
    gathered: list = [None] * world
    dist.all_gather_object(gathered, mine)
    return gathered


def write_and_close(cfg: dict, rank: int, out: dict) -> None:
    """Rank 0 writes `out` as JSON to the launcher's result file (atomically); then every rank leaves the group."""
    if rank == 0:
        atomic_write_text(Path(cfg["result"]), json.dumps(out))
    dist.barrier()
    dist.destroy_process_group()


def main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    data = np.load(cfg["data"])
    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    out: dict = {"world": world, "parts": {}, "seconds": {}}
    for name in cfg["parts"]:
        t0 = time.perf_counter()
        mine = PARTS[name](cfg, x, y, rank, world)
        out["parts"][name], out["seconds"][name] = gather(mine, world), time.perf_counter() - t0
    write_and_close(cfg, rank, out)


if __name__ == "__main__":
    main(sys.argv[1])
