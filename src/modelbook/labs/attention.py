"""Attention: scaled dot-product, multi-head, cross, grouped-query (SmolLM2), KV cache, tiled softmax (topic 33).

What this lab shows
  1. Scaled dot-product attention written from scratch equals torch's F.scaled_dot_product_attention
     (no mask, causal, padding mask), and our multi-head self- and cross-attention equal
     nn.MultiheadAttention with the same weights, to ≤ 1e-5 in float32.
  2. Why the 1/√d: the logit variance of random unit-variance q·k grows like d; unscaled, the softmax
     saturates and its gradient vanishes. (It does not change the cost, contrary to the source.)
  3. Grouped-query attention with rotary positions reproduces every one of the 30 attention layers of the
     real SmolLM2-135M on the same hidden states.
  4. A KV-cache decode (one token at a time) equals full recomputation; the cache's bytes per token, and
     the 3× that GQA saves over multi-head attention.
  5. Tiled online-softmax attention equals naive attention, and its peak memory grows linearly with the
     sequence length while naive attention's grows quadratically (measured, log-log slope fitted).
  6. Plots: time and memory vs length (naive, tiled, torch SDPA) and SmolLM2 attention maps.

Differences from the papers
  - FlashAttention's speed comes from fusing the tiles in GPU SRAM; a Python loop over tiles on a CPU
    shows the memory behaviour and the exactness, not the speed (see benchmarks/attention.py).

Building blocks: modelbook/nn/attention.py, modelbook/nn/llama_attention.py
Cross-checks:    tests/nn/test_attention.py (float64, outputs and gradients; the softmax Jacobian norm vs autograd)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from modelbook.core import plots, progress
from modelbook.core.measure import median_time, peak_memory_bytes
from modelbook.core.result import LabResult
from modelbook.nn.attention import (
    KVCache,
    MultiHeadAttention,
    causal_mask,
    scaled_dot_product_attention,
    softmax_jacobian_norm,
    tiled_attention,
)
from modelbook.nn.llama_attention import GroupedQueryAttention, decode_one_by_one

TORCH = "PyTorch 2.13 F.scaled_dot_product_attention / nn.MultiheadAttention, same inputs and weights"
SENTENCE = "Attention lets every token look at the earlier tokens and decide which of them matter most."
# equality checks: T queries and S keys of ragged lengths (no multiple of each other, T ≠ S so cross-attention is
# rectangular); the padding mask hides each key with this probability, and the first sequence is this much shorter
EQ_QUERIES, EQ_KEYS = 33, 47
PAD_PROBABILITY = 0.2
SHORTER_BY = 5
# why √d: head dimensions swept, keys per query, and queries drawn per dimension (enough for a stable variance)
SQRT_D_DIMS = (16, 64, 256, 1024)
SQRT_D_KEYS = 64
SQRT_D_QUERIES = 512
TILED_T = 700  # tiled vs naive: not a multiple of the tile (Config.block, 128), so the last tile is ragged
SLOPE_POINTS = 3  # memory log-log slopes are fitted on the longest lengths, past the fixed-overhead regime
LONG_CONTEXT = 8192  # the context whose KV-cache size is reported (8k tokens)


@dataclass(frozen=True)
class Config:
    lengths: tuple[int, ...] = (256, 512, 1024, 2048, 4096)
    """sequence lengths for the time and memory sweep"""
    n_heads: int = 4
    d_head: int = 64
    block: int = 128
    """tile size (queries and keys) of the tiled attention"""
    d_model: int = 64
    """model width for the multi-head equality checks"""
    repeats: int = 5
    """timing repeats (median reported)"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run(): one is fastest for small models, fixes float sums"""


PRESETS = {
    "quick": Config(lengths=(256, 512, 1024, 2048), repeats=3),
    "full": Config(lengths=(256, 512, 1024, 2048, 4096, 8192), repeats=5),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("attention", cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    with torch.no_grad():
        _equal_to_torch(result, cfg, gen)
        _why_sqrt_d(result, gen, out)
        _smollm2_gqa_and_cache(result, out)
        _tiled_vs_naive(result, cfg, gen, out)
    return result


def _max_diff(a, b) -> float:
    return float((a - b).abs().max())


# -- 1. equal to PyTorch -----------------------------------------------------------------------------
def _equal_to_torch(result: LabResult, cfg: Config, gen) -> None:
    B, H, T, S, d = 2, cfg.n_heads, EQ_QUERIES, EQ_KEYS, cfg.d_head
    q = torch.randn(B, H, T, d, generator=gen)
    k, v = torch.randn(B, H, S, d, generator=gen), torch.randn(B, H, S, d, generator=gen)
    pad = torch.rand(B, 1, 1, S, generator=gen) > PAD_PROBABILITY  # True = may attend
    pad[..., 0] = True
    diffs = {
        "none": _max_diff(scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, v)),
        "causal": _max_diff(scaled_dot_product_attention(q, k[..., :T, :], v[..., :T, :], causal=True),
                            F.scaled_dot_product_attention(q, k[..., :T, :], v[..., :T, :], is_causal=True)),
        "padding": _max_diff(scaled_dot_product_attention(q, k, v, mask=pad), F.scaled_dot_product_attention(q, k, v, attn_mask=pad)),
    }
    for name, value in diffs.items():
        result.metric(f"sdpa_vs_torch/max_abs_diff_{name}", value)
    result.check("scaled dot-product attention vs F.scaled_dot_product_attention (no mask, causal, padding), max |diff|",
                 max(diffs.values()), reference=0.0, tolerance=1e-5, source=TORCH, kind="at_most")

    D = cfg.d_model
    mha = torch.nn.MultiheadAttention(D, cfg.n_heads, batch_first=True)
    ours = MultiHeadAttention(D, cfg.n_heads).load_from_torch(mha)
    x = torch.randn(B, T, D, generator=gen)
    key_pad = torch.zeros(B, T, dtype=torch.bool)
    key_pad[0, T - SHORTER_BY:] = True  # the first sequence is SHORTER_BY tokens shorter
    ref, ref_w = mha(x, x, x, key_padding_mask=key_pad, attn_mask=~causal_mask(T, T), need_weights=True)
    got, got_w = ours(x, key_padding_mask=key_pad, causal=True, need_weights=True)
    self_diff = max(_max_diff(got, ref), _max_diff(got_w, ref_w))
    memory = torch.randn(B, S, D, generator=gen)  # e.g. encoder states: cross-attention reads keys/values from here
    ref_x, ref_xw = mha(x, memory, memory, need_weights=True)
    got_x, got_xw = ours(x, memory, memory, need_weights=True)
    cross_diff = max(_max_diff(got_x, ref_x), _max_diff(got_xw, ref_xw))
    result.metric("mha_vs_torch/self_causal_padding_max_abs_diff", self_diff)
    result.metric("mha_vs_torch/cross_max_abs_diff", cross_diff)
    result.check("multi-head self-attention (causal + padding) vs nn.MultiheadAttention, outputs and weights",
                 self_diff, reference=0.0, tolerance=1e-5, source=TORCH, kind="at_most")
    result.check(f"multi-head cross-attention (T={T} queries, S={S} keys) vs nn.MultiheadAttention", cross_diff, reference=0.0, tolerance=1e-5,
                 source=TORCH, kind="at_most")


# -- 2. why divide by sqrt(d) ------------------------------------------------------------------------
def _why_sqrt_d(result: LabResult, gen, out: Path) -> None:
    dims, n_keys = SQRT_D_DIMS, SQRT_D_KEYS
    var_ratio, max_prob, grad = {}, {"scaled": [], "unscaled": []}, {"scaled": [], "unscaled": []}
    for d in dims:
        q = torch.randn(SQRT_D_QUERIES, 1, d, generator=gen)
        k = torch.randn(SQRT_D_QUERIES, n_keys, d, generator=gen)
        logits = (q @ k.transpose(-2, -1)).squeeze(1)  # (SQRT_D_QUERIES, n_keys): q·k, variance d
        var_ratio[d] = float(logits.var() / d)
        for name, z in (("unscaled", logits), ("scaled", logits / math.sqrt(d))):
            p = z.softmax(-1)
            max_prob[name].append(float(p.max(-1).values.mean()))
            grad[name].append(float(softmax_jacobian_norm(p).mean()))  # how much gradient flows back through the softmax
    worst = max(abs(r - 1) for r in var_ratio.values())
    result.metric("sqrt_d/max_relative_error_var_qk_over_d", worst)
    result.metric("sqrt_d/softmax_max_prob_unscaled_d1024", max_prob["unscaled"][-1])
    result.metric("sqrt_d/softmax_max_prob_scaled_d1024", max_prob["scaled"][-1])
    result.metric("sqrt_d/jacobian_norm_ratio_scaled_over_unscaled_d1024", grad["scaled"][-1] / grad["unscaled"][-1])
    result.check("Var(q·k) = d for unit-variance q, k (relative error, d = 16..1024)", worst, reference=0.0, tolerance=0.1,
                 source="Vaswani et al. 2017, §3.2.1 footnote 4", kind="at_most")
    result.check("unscaled softmax saturates at d = 1024 (mean max probability)", max_prob["unscaled"][-1], reference=0.9, tolerance=0.0,
                 source="Vaswani et al. 2017, §3.2.1: large dot products push softmax into regions of tiny gradients",
                 kind="at_least")
    fig, ax = plots.figure()
    ax.plot(dims, grad["unscaled"], "o-", label="q·k (unscaled)")
    ax.plot(dims, grad["scaled"], "o-", label="q·k / √d")
    ax.set(xscale="log", yscale="log", xlabel="head dimension d", ylabel="‖∂softmax/∂logits‖ (mean)",
           title=f"Gradient through the softmax, {n_keys} keys")
    ax.legend()
    result.artifact(plots.save(fig, out / "why_sqrt_d.png"))


# -- 3 and 4. SmolLM2: GQA layers and the KV cache -----------------------------------------------------
def _smollm2_gqa_and_cache(result: LabResult, out: Path) -> None:
    from modelbook.models import load_smollm2
    from modelbook.models.hooks import capture_io

    with progress.status("loading SmolLM2-135M"):
        model, tokenizer = load_smollm2()
    ids = tokenizer(SENTENCE, return_tensors="pt")["input_ids"]
    layers = model.model.layers
    captured = capture_io(model, [layer.self_attn for layer in layers], ids)     # (hidden states in, output) per layer
    abs_diff, rel_diff, ours_by_layer = 0.0, 0.0, {}
    for i, layer in enumerate(progress.track(layers, "SmolLM2 layers")):
        ours = GroupedQueryAttention.from_llama(layer.self_attn, model.config)
        x, ref = captured[i]
        got, weights = ours(x, return_weights=True)
        abs_diff = max(abs_diff, _max_diff(got, ref))
        rel_diff = max(rel_diff, _max_diff(got, ref) / float(ref.abs().max()))
        ours_by_layer[i] = (ours, weights)
    cfg = model.config
    result.metric("smollm2/layers_compared", len(layers))
    result.metric("smollm2/gqa_max_abs_diff", abs_diff)
    result.metric("smollm2/gqa_max_rel_diff", rel_diff)
    result.check(f"our GQA + RoPE vs all {len(layers)} SmolLM2-135M attention layers (max |diff| / max |output|)",
                 rel_diff, reference=0.0, tolerance=1e-6, source="transformers 5.24 LlamaAttention (SDPA) inside SmolLM2-135M-Instruct, same hidden states",
                 kind="at_most", note=f"max absolute difference {abs_diff:.2g} on outputs of magnitude up to ~10²")

    layer0 = ours_by_layer[0][0]
    x = captured[0][0]
    full = layer0(x)
    cache = KVCache()
    steps = decode_one_by_one(layer0, x, cache)
    decode_diff = result.metric("kv_cache/decode_vs_full_max_abs_diff", _max_diff(steps, full))
    result.check("KV-cache decode, one token at a time, vs full causal recomputation", decode_diff, reference=0.0, tolerance=1e-5,
                 source="identity: causal attention at step t sees exactly the keys 0..t", kind="at_most")
    per_token_layer = cache.nbytes() / x.size(1)
    per_token = result.metric("kv_cache/bytes_per_token_all_layers_fp32", per_token_layer * len(layers), "B")
    formula = 2 * len(layers) * cfg.num_key_value_heads * cfg.head_dim * 4  # K and V, 4 bytes per fp32 number
    result.metric("kv_cache/gqa_saving_vs_mha", cfg.num_attention_heads / cfg.num_key_value_heads, "x")
    result.metric("kv_cache/bytes_for_8k_context_fp32", per_token * LONG_CONTEXT, "B")
    result.check("KV cache bytes/token, measured on the cache's tensors after decoding, vs 2 · layers · H_kv · d · 4 (fp32)",
                 per_token, reference=formula, tolerance=0.0,
                 source="Ainslie et al. 2023 (GQA): the cache holds H_kv heads, not H")
    tokens = [tokenizer.decode([t]).strip() or "␣" for t in ids[0]]
    fig, axes = plots.figure(1, 3, size=(15, 4.8))
    for ax, i in zip(axes, (0, len(layers) // 2, len(layers) - 1)):
        w = ours_by_layer[i][1][0].mean(0).numpy()  # (T, T), averaged over heads
        ax.imshow(w, cmap="viridis")
        ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=7)
        ax.set_yticks(range(len(tokens)), tokens, fontsize=7)
        ax.set_title(f"SmolLM2 layer {i}, mean over heads")
    result.artifact(plots.save(fig, out / "smollm2_attention_maps.png"))


# -- 5 and 6. tiled online softmax, memory and time vs length --------------------------------------------
def _tiled_vs_naive(result: LabResult, cfg: Config, gen, out: Path) -> None:
    H, d = cfg.n_heads, cfg.d_head
    q, k, v = (torch.randn(1, H, TILED_T, d, generator=gen) for _ in range(3))
    diff = max(_max_diff(tiled_attention(q, k, v, block_q=cfg.block, block_k=cfg.block), scaled_dot_product_attention(q, k, v)),
               _max_diff(tiled_attention(q, k, v, causal=True, block_q=cfg.block, block_k=cfg.block),
                         scaled_dot_product_attention(q, k, v, causal=True)))
    result.metric("tiled/max_abs_diff_vs_naive", diff)
    result.check(f"tiled online-softmax attention vs naive (plain and causal, T = {TILED_T}, ragged last tile)", diff, reference=0.0, tolerance=1e-5,
                 source="Milakov & Gimelshein 2018, Online normalizer calculation for softmax: exact, not approximate",
                 kind="at_most")
    variants = {
        "naive": lambda q, k, v: scaled_dot_product_attention(q, k, v),
        "tiled": lambda q, k, v: tiled_attention(q, k, v, block_q=cfg.block, block_k=cfg.block),
        "torch SDPA": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
    }
    mem = {name: [] for name in variants}
    secs = {name: [] for name in variants}
    for T in progress.track(cfg.lengths, "length sweep"):
        q, k, v = (torch.randn(1, H, T, d, generator=gen) for _ in range(3))
        for name, fn in variants.items():
            mem[name].append(peak_memory_bytes(lambda: fn(q, k, v)))
            secs[name].append(median_time(lambda: fn(q, k, v), repeats=cfg.repeats))
    logT = np.log(cfg.lengths)
    slope = {name: float(np.polyfit(logT[-SLOPE_POINTS:], np.log(m[-SLOPE_POINTS:]), 1)[0]) for name, m in mem.items()}
    for name in variants:
        key = name.replace(" ", "_").lower()
        result.metric(f"memory/{key}_loglog_slope", slope[name])
        result.metric(f"memory/{key}_peak_bytes_T{cfg.lengths[-1]}", mem[name][-1], "B")
        result.metric(f"time/{key}_ms_T{cfg.lengths[-1]}", secs[name][-1] * 1e3, "ms", volatile=True)
    result.metric("memory/naive_over_tiled_T_max", mem["naive"][-1] / mem["tiled"][-1], "x")
    result.metric("time/tiled_over_naive_T_max", secs["tiled"][-1] / secs["naive"][-1], "x", volatile=True)
    result.check(f"naive attention peak memory grows like T² (log-log slope, {SLOPE_POINTS} longest lengths)", slope["naive"], reference=2.0, tolerance=0.2,
                 source="Dao et al. 2022 (FlashAttention) §2.2: standard attention materialises the T×T matrix")
    result.check("tiled attention peak memory grows at most linearly in T (log-log slope)", slope["tiled"], reference=1.0, tolerance=0.2,
                 source="Dao et al. 2022 (FlashAttention) §3: extra memory O(T) with tiling and online softmax", kind="at_most",
                 note="below 1 at short lengths, where the fixed-size score tile outweighs the T×d output")
    fig, axes = plots.figure(1, 2, size=(10, 3.8))
    for name in variants:
        axes[0].plot(cfg.lengths, np.array(mem[name]) / 2**20, "o-", label=name)
        axes[1].plot(cfg.lengths, np.array(secs[name]) * 1e3, "o-", label=name)
    axes[0].set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="peak tensor memory (MiB)",
                title=f"Memory, {H} heads × d={d}")
    axes[1].set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="median time (ms)", title="Time (this CPU)")
    for ax in axes:
        ax.set_xticks(cfg.lengths, [str(t) for t in cfg.lengths])
        ax.minorticks_off()
        ax.legend()
    result.artifact(plots.save(fig, out / "memory_and_time_vs_length.png"))
