"""Attention side by side: naive (materialises the T×T scores) vs our tiled online softmax (the readable reference
and the CPU-arranged fast path) vs torch's fused scaled_dot_product_attention (SDPA).

All variants run in one process on the same q, k, v; times are interleaved repeats, reported as paired ratios to
SDPA (the library) with their spread. Peak memory is tensor memory under the torch profiler
(core.measure.peak_memory_bytes), which is deterministic for given shapes. Exponents: time and memory of each
variant against T (naive memory ≈ 2: the score matrix; tiled memory at most 1: the O(T·d) output plus a constant
tile scratch, measured with small fixed tiles, `memory_block`, so that the output soon dominates). One torch thread
for every variant.
"""
from __future__ import annotations

from modelbook.bench.harness import Bench, interleaved

TITLE = "naive vs tiled (ours) vs torch SDPA"
QUICK = dict(lengths=[256, 512, 1024], repeats=5, heads=4, d=64, memory_lengths=[128, 256, 512], memory_block=32)
FULL = dict(lengths=[256, 512, 1024, 2048, 4096], repeats=7, heads=4, d=64, memory_lengths=[128, 256, 512, 1024],
            memory_block=32)
THREADS = 1  # one thread: steadier on a shared machine, and the same for every variant


def run(quick: bool):
    import torch
    import torch.nn.functional as F

    from modelbook.core.measure import peak_memory_bytes
    from modelbook.nn.attention import scaled_dot_product_attention, tiled_attention, tiled_attention_fast

    p = QUICK if quick else FULL
    b = Bench("attention", quick, p)
    variants = {
        "naive": scaled_dot_product_attention,
        "tiled": tiled_attention,
        "tiled_fast": tiled_attention_fast,
        "sdpa": F.scaled_dot_product_attention,
    }
    gen = torch.Generator().manual_seed(0)
    med: dict[str, list[float]] = {k: [] for k in variants}
    worst = 0.0
    with torch.no_grad():
        for T in p["lengths"]:
            q, k, v = (torch.randn(1, p["heads"], T, p["d"], generator=gen) for _ in range(3))
            times = interleaved({n: (lambda f=f: f(q, k, v)) for n, f in variants.items()}, p["repeats"])
            for n in ("naive", "tiled", "tiled_fast"):
                b.ratio(f"{n}/sdpa", f"T={T}", times[n], times["sdpa"])
            for n in variants:
                med[n].append(sorted(times[n])[len(times[n]) // 2])
            ref = F.scaled_dot_product_attention(q, k, v)
            for n in ("naive", "tiled", "tiled_fast"):
                worst = max(worst, float((variants[n](q, k, v) - ref).abs().max()))
        # Memory: deterministic, so no repeats; the profiler is slow per op, hence smaller lengths and tiles
        # small enough (memory_block) that the O(T·d) output, not the tile, dominates.
        blk = p["memory_block"]
        mem: dict[str, list[float]] = {"naive": [], "tiled": []}
        for T in p["memory_lengths"]:
            q, k, v = (torch.randn(1, p["heads"], T, p["d"], generator=gen) for _ in range(3))
            mem["naive"].append(peak_memory_bytes(lambda: scaled_dot_product_attention(q, k, v)))
            mem["tiled"].append(peak_memory_bytes(lambda: tiled_attention(q, k, v, block_q=blk, block_k=blk)))
            b.value(f"memory naive/tiled({blk}x{blk}) @T={T}", mem["naive"][-1] / mem["tiled"][-1], "x", volatile=False)
    for n in variants:
        b.exponent(f"time {n} vs T", p["lengths"], med[n])
    k_naive = b.exponent("memory naive vs T", p["memory_lengths"], mem["naive"], volatile=False)
    k_tiled = b.exponent("memory tiled vs T", p["memory_lengths"], mem["tiled"], volatile=False)
    b.within("memory exponent of naive attention", k_naive, 1.7, 2.2,
             "the T×T score matrix: self-attention is O(T²·d) per layer (Vaswani et al. 2017, Table 1)")
    b.at_most("memory exponent of tiled attention", k_tiled, 1.1,
              "online softmax over tiles keeps extra memory linear in T (Dao et al. 2022, FlashAttention)",
              note="below 1 at small T: a fixed tile scratch adds a constant to the O(T·d) output")
    b.at_most("max |ours − torch SDPA| (float32)", worst, 1e-4, "torch.nn.functional.scaled_dot_product_attention")
    b.note(f"{p['heads']} heads × d={p['d']}, batch 1, not causal, float32; median of {p['repeats']} interleaved "
           f"repeats; ratios < 1 mean faster than torch SDPA.")
    return b.result
