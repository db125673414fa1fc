"""Attention side by side: naive (materialises T×T) vs our tiled online softmax (the readable reference and the
CPU-arranged fast path) vs torch SDPA.

    .venv/bin/python benchmarks/attention.py [--lengths 256,512,1024,2048,4096] [--repeats 7]

Every variant runs in this one process on the same inputs; times are medians of interleaved repeats and are
reported as ratios to naive (machines are shared and noisy, so absolute times mean little). Peak memory is
tensor memory measured with the torch profiler (modelbook.core.measure.peak_memory_bytes).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from modelbook.core.measure import peak_memory_bytes
from modelbook.nn.attention import scaled_dot_product_attention, tiled_attention, tiled_attention_fast

VARIANTS = {
    "naive": lambda q, k, v: scaled_dot_product_attention(q, k, v),
    "tiled (ours)": lambda q, k, v: tiled_attention(q, k, v),
    "tiled fast (ours)": lambda q, k, v: tiled_attention_fast(q, k, v),
    "torch SDPA": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
}


def interleaved_medians(fns: dict, args: tuple, repeats: int) -> dict[str, float]:
    times = {name: [] for name in fns}
    for fn in fns.values():  # warm-up
        fn(*args)
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn(*args)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="256,512,1024,2048,4096")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--d", type=int, default=64)
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.heads} heads x d={args.d}, "
          f"median of {args.repeats} interleaved repeats\n")
    header = f"{'T':>6} | {'naive ms':>9} | {'tiled/naive time':>16} | {'SDPA/naive time':>15} | {'tiled/SDPA':>10} | " \
             f"{'fast/SDPA':>9} | {'naive MiB':>9} | {'naive/tiled mem':>15} | {'naive/fast mem':>14} | " \
             f"{'naive/SDPA mem':>14} | {'max|tiled-naive|':>16} | {'max|fast-naive|':>15}"
    print(header)
    print("-" * len(header))
    with torch.no_grad():
        for T in lengths:
            q, k, v = (torch.randn(1, args.heads, T, args.d) for _ in range(3))
            t = interleaved_medians(VARIANTS, (q, k, v), args.repeats)
            mem = {name: peak_memory_bytes(lambda fn=fn: fn(q, k, v)) for name, fn in VARIANTS.items()}
            naive = VARIANTS["naive"](q, k, v)
            err = float((VARIANTS["tiled (ours)"](q, k, v) - naive).abs().max())
            err_fast = float((VARIANTS["tiled fast (ours)"](q, k, v) - naive).abs().max())
            sdpa = t["torch SDPA"]
            print(f"{T:>6} | {t['naive'] * 1e3:>9.2f} | {t['tiled (ours)'] / t['naive']:>16.2f} | "
                  f"{sdpa / t['naive']:>15.2f} | {t['tiled (ours)'] / sdpa:>10.2f} | {t['tiled fast (ours)'] / sdpa:>9.2f} | "
                  f"{mem['naive'] / 2**20:>9.1f} | {mem['naive'] / mem['tiled (ours)']:>15.1f} | "
                  f"{mem['naive'] / mem['tiled fast (ours)']:>14.1f} | {mem['naive'] / mem['torch SDPA']:>14.1f} | "
                  f"{err:>16.1e} | {err_fast:>15.1e}")


if __name__ == "__main__":
    main()
