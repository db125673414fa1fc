"""Parallel training: DDP, tensor and pipeline parallelism, gradient accumulation, ZeRO/FSDP, on real processes (topic 9).

What this lab shows
  Every number comes from real worker processes started by torchrun (gloo backend, 2 ranks on 127.0.0.1; the same
  worker code runs multi-node), training MLPs on Fashion-MNIST images:
  1. Data parallelism: DDP on 2 ranks, each reading its shard through DistributedSampler (with set_epoch), ends
     with the same parameters as one process trained on the union of their batches (to 1e-6), the replicas are
     bit-identical, and DDP all-reduces exactly one gradient's worth of bytes per step.
  2. Gradient accumulation equals the large batch: K micro-batches with loss/K, in one process and under DDP with
     no_sync() (one all-reduce per K micro-batches).
  3. Tensor parallelism, from scratch: a column-parallel then row-parallel MLP (one all-reduce forward, one
     backward) gives the unsharded layer's outputs, input gradients and weight gradients, and the same weights
     after training, with half the weights per rank.
  4. Pipeline parallelism, from scratch: a GPipe schedule over 2 stages with micro-batches equals one process;
     the idle fraction of each stage is measured for several micro-batch counts beside (p − 1)/(m + p − 1).
  5. "Gradient parallelism" is not a standard term; what exists is sharding of gradients and optimizer state
     across data-parallel ranks: ZeroRedundancyOptimizer (ZeRO-1) and FSDP2 fully_shard (ZeRO-3) train to the
     same parameters as DDP + Adam, and the bytes each rank holds are measured: ZeRO-1 splits the Adam state
     (by whole parameters, greedily), FSDP2 halves parameters, gradients and optimizer state.
  6. Throughput (training samples/s) of one process versus 2 DDP ranks, one thread each.

Differences from the references
  - CPU and gloo instead of GPUs and NCCL, 2 ranks, small MLPs: equality and memory accounting carry over
    exactly; speed does not (2 shared cores, no overlap of communication worth measuring). Throughput and the
    measured bubble are machine-dependent and reported, never asserted.
  - torch's ZeroRedundancyOptimizer assigns whole parameter tensors to ranks (a greedy partition), so per-rank
    optimizer state is KΨ/N_d only when the tensors split evenly; DeepSpeed flattens and splits exactly. The lab
    checks the measured bytes against the bytes of the parameters each rank was assigned.
  - The quick preset runs every part in ONE torchrun launch (start-up, ~5 s, dominates); the full preset uses
    larger models, more steps and more micro-batch counts in the same single launch.

Design notes
  - Real torchrun ranks, once per run: the lab launches `python -m torch.distributed.run` (2 ranks, gloo,
    127.0.0.1) as a subprocess and every part (DDP, accumulation, TP, PP, ZeRO-1/FSDP2, throughput) runs inside
    that one launch, because start-up (~5 s) dominates; each rank computes its own single-process reference from
    the same seed. Unit tests use `mp.spawn` (tests/distributed/spawn.py). torchrun's rendezvous TCPStore listens
    on all interfaces (torch has no bind option); gloo itself is pinned to `lo`.

Building blocks: modelbook/distributed/{tensor_parallel,pipeline,memory,worker,launch}.py
Cross-checks:    tests/distributed/test_tensor_parallel.py (ours vs unsharded and vs DTensor Colwise/RowwiseParallel),
                 tests/distributed/test_pipeline.py (ours vs torch.distributed.pipelining ScheduleGPipe),
                 tests/distributed/test_launch.py (torchrun launcher errors), tests/labs/test_parallel.py
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.core.seed import rng as make_rng
from modelbook.data import fashion_mnist
from modelbook.distributed.launch import launch

DDP_SRC = "Li et al. 2020, 'PyTorch Distributed' (VLDB) §3: averaged gradients = the full-batch gradient; torch 2.13 DDP"
MEGATRON = "Shoeybi et al. 2019, Megatron-LM §3 (column- then row-parallel MLP, f/g operators)"
GPIPE = "Huang et al. 2019, GPipe §2: synchronous micro-batch pipelining computes the mini-batch gradient"
ZERO = "Rajbhandari et al. 2020, ZeRO §5.1 (P_os: KΨ/N_d; P_os+g+p: (2+2+K)Ψ/N_d); torch 2.13 ZeroRedundancyOptimizer, FSDP2"
PARTS = ("ddp", "accumulation", "tensor", "pipeline", "zero", "throughput")

# float32 rounding of a pipeline that is right: below 1e-6 after the quick preset's 5 steps, 8.7e-6 after the full preset's
# 100 steps of 8 micro-batches; a missing 1/n_micro scale multiplies every step by n_micro, far above this.
PIPELINE_FLOAT_TOL = 2e-5


@dataclass(frozen=True)
class Config:
    n_train: int = 20_000
    """Fashion-MNIST training images the workers read"""
    nproc: int = 2
    """ranks started by torchrun"""
    hidden: int = 512
    """hidden width of the DDP / TP / PP / accumulation MLPs"""
    batch_size: int = 256
    """global batch (split over ranks; for TP replicated)"""
    n_steps: int = 100
    """optimizer steps for every equality check"""
    n_micro: int = 8
    """micro-batches per step (pipeline) and accumulation steps"""
    lr: float = 0.05
    """SGD learning rate"""
    pp_blocks: int = 6
    """blocks of the pipeline model, split evenly over the stages"""
    pp_micro_list: tuple[int, ...] = (1, 2, 4, 8, 16)
    """micro-batch counts for the bubble measurement"""
    pp_timing_steps: int = 10
    """timed steps per micro-batch count"""
    pp_timing_batch: int = 1024
    """batch of the bubble measurement"""
    zero_hidden: int = 1024
    """width of the ZeRO/FSDP MLP (784 → h × zero_layers → 10; 4 layers split evenly between 2 ranks)"""
    zero_layers: int = 4
    """hidden layers of the ZeRO/FSDP MLP"""
    adam_lr: float = 1e-3
    """Adam learning rate (ZeRO/FSDP part)"""
    tp_hidden: int = 1024
    """width of the throughput MLP"""
    tp_batch: int = 512
    """global batch of the throughput measurement"""
    tp_steps: int = 50
    """timed steps of the throughput measurement"""
    timeout_s: float = 900
    """give up on the workers after this many seconds"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


PRESETS = {
    "quick": Config(n_train=2048, hidden=128, batch_size=64, n_steps=5, n_micro=4, pp_blocks=4, pp_micro_list=(1, 4),
                    pp_timing_steps=3, pp_timing_batch=256, zero_hidden=256, tp_hidden=256, tp_batch=256, tp_steps=10,
                    timeout_s=300),
    "full": Config(),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("parallel", cfg)
    data = fashion_mnist()
    idx = np.sort(make_rng(cfg.seed).choice(len(data.y_train), cfg.n_train, replace=False))
    x = (data.x_train[idx].reshape(len(idx), -1) / 255.0).astype(np.float32)
    np.savez(out / "data.npz", x=x, y=data.y_train[idx])
    worker_cfg = dict(asdict(cfg), data=str(out / "data.npz"), parts=list(PARTS))
    with progress.status(f"torchrun: {cfg.nproc} ranks, {len(PARTS)} parts"):
        res = launch("modelbook.distributed.worker", worker_cfg, cfg.nproc, out, timeout_s=cfg.timeout_s)
    (out / "data.npz").unlink()
    parts = res["parts"]
    result.check("torchrun world size", res["world"], reference=cfg.nproc, tolerance=0, source="torch.distributed.run --nproc-per-node")
    _data_parallel(result, parts)
    _tensor_parallel(result, parts["tensor"])
    _pipeline(result, parts["pipeline"], cfg, out)
    _sharding(result, parts["zero"], cfg, out)
    _throughput(result, parts["throughput"], cfg)
    for name, seconds in res["seconds"].items():
        result.metric(f"seconds/{name}", seconds, "s", volatile=True)
    return result


def _worst(per_rank: list[dict], key: str) -> float:
    return max(r[key] for r in per_rank)


def _data_parallel(result: LabResult, parts: dict) -> None:
    ddp, acc = parts["ddp"], parts["accumulation"]
    d = result.metric("ddp/max_param_diff_vs_single", _worst(ddp, "max_diff_vs_single"))
    result.check("DDP (2 ranks) vs one process on the full batch: max |Δθ| after training", d, reference=0.0, tolerance=1e-6, source=DDP_SRC, kind="at_most")
    result.check("DDP replicas identical (max |θ_rank − θ_rank0|)", result.metric("ddp/replica_diff", _worst(ddp, "replica_diff")),
                 reference=0.0, tolerance=0.0, source=DDP_SRC + " (same initial broadcast, same averaged gradient)", kind="at_most")
    sent = result.metric("ddp/allreduce_bytes_per_step", ddp[0]["allreduce_bytes_per_step"], "B")
    result.metric("ddp/param_bytes", ddp[0]["param_bytes"], "B")
    result.check("DDP all-reduce bytes per step = gradient bytes (4Ψ)", sent, reference=ddp[0]["param_bytes"], tolerance=0,
                 source="Li et al. 2020 §3.2: every gradient is all-reduced once per step (counted with a DDP comm hook)")
    for key, label in (("single_max_diff", "one process"), ("ddp_no_sync_max_diff", "DDP + no_sync")):
        v = result.metric(f"accumulation/{key}", _worst(acc, key))
        result.check(f"gradient accumulation ({label}) vs the large batch: max |Δθ|", v, reference=0.0, tolerance=1e-6,
                     source="linearity of the gradient: Σ_k ∇(ℓ_k / K) = ∇ of the mean loss; torch 2.13 DDP.no_sync docs", kind="at_most")


def _tensor_parallel(result: LabResult, tp: list[dict]) -> None:
    for key, tol in (("forward_max_diff", 1e-5), ("input_grad_max_diff", 1e-6), ("weight_grad_max_diff", 1e-6),
                     ("trained_max_diff", 1e-6)):
        v = result.metric(f"tensor/{key}", _worst(tp, key))
        result.check(f"tensor-parallel MLP vs unsharded: {key.replace('_', ' ')}", v, reference=0.0, tolerance=tol, source=MEGATRON, kind="at_most",
                     note="float32; the row-parallel sum adds partial products in a different order")
    frac = result.metric("tensor/param_fraction_per_rank", tp[0]["param_bytes_per_rank"] / tp[0]["param_bytes_full"])
    result.check("tensor-parallel weights per rank / full (1/2, plus the replicated output bias)", frac, reference=0.5, tolerance=0.01,
                 source=MEGATRON, relative=False)


def _pipeline(result: LabResult, pp: list[dict], cfg: Config, out: Path) -> None:
    d = result.metric("pipeline/max_param_diff_vs_single", _worst(pp, "max_diff_vs_single"))
    result.check(f"GPipe pipeline ({cfg.nproc} stages, {cfg.n_micro} micro-batches) vs one process: max |Δθ|", d, reference=0.0,
                 tolerance=PIPELINE_FLOAT_TOL, source=GPIPE, kind="at_most",
                 note="float32: the micro-batch gradients are summed in another order, and the difference compounds over the steps")
    ms = [int(m) for m in pp[0]["bubble"]]
    measured = [float(np.mean([r["bubble"][str(m)]["measured_idle"] for r in pp])) for m in ms]
    theory = [pp[0]["bubble"][str(m)]["theory"] for m in ms]
    for m, meas, th in zip(ms, measured, theory):
        result.metric(f"pipeline/idle_fraction_m{m}", meas, volatile=True)
        result.metric(f"pipeline/bubble_theory_m{m}", th)
    fig, ax = plots.figure()
    ax.plot(ms, theory, "o-", label="(p − 1)/(m + p − 1)")
    ax.plot(ms, measured, "s--", label="measured: time waiting for a neighbour / step")
    ax.set(xscale="log", xlabel="micro-batches m", ylabel="idle fraction", title=f"Pipeline bubble, {cfg.nproc} stages (CPU, gloo)")
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "pipeline_bubble.png"))
    result.note(f"Measured idle fractions {', '.join(f'm={m}: {v:.2f}' for m, v in zip(ms, measured))} include gloo send/recv "
                f"time on a shared CPU; the theory assumes equal stages and free communication.")


def _sharding(result: LabResult, zero: list[dict], cfg: Config, out: Path) -> None:
    for key, label in (("zero1_max_diff_vs_ddp", "ZeroRedundancyOptimizer (ZeRO-1)"), ("fsdp_max_diff_vs_ddp", "FSDP2 fully_shard (ZeRO-3)")):
        result.check(f"{label} + Adam vs DDP + Adam: max |Δθ|", result.metric(f"zero/{key}", _worst(zero, key)), reference=0.0, tolerance=1e-6,
                     source=ZERO, kind="at_most")
    n = cfg.nproc
    full_opt = zero[0]["ddp"]["optimizer"]
    for r, rank in enumerate(zero):
        for scheme in ("ddp", "zero1", "fsdp"):
            for kind in ("params", "grads", "optimizer"):
                result.metric(f"zero/rank{r}/{scheme}_{kind}_bytes", rank[scheme][kind], "B")
    shares = [rank["zero1"]["optimizer"] / full_opt for rank in zero]
    result.metric("zero/zero1_optimizer_share_max", max(shares))
    result.check("ZeRO-1: optimizer-state bytes per rank = Adam's 2 states of the parameters it was assigned",
                 max(abs(rank["zero1"]["optimizer"] - rank["zero1"]["optimizer_expected"]) for rank in zero), reference=0, tolerance=0, source=ZERO, kind="at_most")
    result.check("ZeRO-1: optimizer state summed over ranks = DDP's on one rank (no copy held twice)",
                 sum(rank["zero1"]["optimizer"] for rank in zero), reference=full_opt, tolerance=0, source=ZERO)
    bound = 1 / n + zero[0]["largest_param_share"]
    result.metric("zero/largest_param_share", zero[0]["largest_param_share"])
    result.check("ZeRO-1: largest rank's share of the optimizer state ≤ 1/N_d + largest tensor's share (greedy partition)",
                 max(shares), reference=bound, tolerance=0.0, source=ZERO + "; Graham 1969, list scheduling bound (max load ≤ mean + largest item)",
                 kind="at_most")
    for kind in ("params", "grads", "optimizer"):
        share = result.metric(f"zero/fsdp_{kind}_share", max(rank["fsdp"][kind] / rank["ddp"][kind] for rank in zero))
        result.check(f"FSDP2: {kind} bytes per rank / DDP's (1/N_d)", share, reference=1 / n, tolerance=0.01, source=ZERO)
    fig, ax = plots.figure()
    kinds, schemes = ("params", "grads", "optimizer"), ("ddp", "zero1", "fsdp")
    bottom = np.zeros(len(schemes) * n)
    labels = [f"{s}\nrank {r}" for s in schemes for r in range(n)]
    for kind in kinds:
        vals = np.array([zero[r][s][kind] / 2**20 for s in schemes for r in range(n)])
        ax.bar(labels, vals, bottom=bottom, label=kind)
        bottom += vals
    ax.set(ylabel="MiB held by the rank", title=f"Model states per rank, {zero[0]['n_params']:,} params, Adam")
    ax.legend(fontsize=8)
    result.artifact(plots.save(fig, out / "memory_per_rank.png"))


def _throughput(result: LabResult, tp: list[dict], cfg: Config) -> None:
    one = result.metric("throughput/samples_per_s_1_rank", tp[0]["samples_per_s_1"], "samples/s", volatile=True)
    many = result.metric(f"throughput/samples_per_s_{cfg.nproc}_ranks", tp[0]["samples_per_s_world"], "samples/s", volatile=True)
    eff = result.metric("throughput/scaling_efficiency", many / (cfg.nproc * one), volatile=True)
    result.note(f"Training throughput: 1 rank {one:,.0f} samples/s, {cfg.nproc} DDP ranks {many:,.0f} samples/s "
                f"(scaling efficiency {eff:.2f}; one thread per rank on a shared 2-core CPU, where gloo's all-reduce and the "
                f"compute compete for the same cores; on GPUs DDP hides the all-reduce behind the backward pass).")
