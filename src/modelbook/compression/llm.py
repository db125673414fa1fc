"""Measuring a compressed causal LM: perplexity, decode speed, and the memory-bandwidth roofline of decoding.

Perplexity on a token slice: exp of the mean next-token cross-entropy, over non-overlapping windows of
`window` tokens (each window starts with an empty context, so the first token of a window is not scored).
KL to the fp32 model: the mean over positions of KL(p_fp32 ‖ p_quantized) of the next-token distributions
(llama.cpp reports the same statistic for its quantized files).

Decoding one token reads every weight once (plus the KV cache), and does ~2 FLOPs per weight: at batch 1
that is ~1 FLOP per byte of fp16 weights, far below what a CPU core can compute per byte it loads. So
single-stream decoding is limited by memory bandwidth, and

    tokens/s ≤ bandwidth / bytes of weights read per token

This is why weight quantization speeds up decoding even when the arithmetic stays in float: fewer bytes
to read. The embedding table is the exception: a token reads one row of it, not the table (but a tied
output head reads it all).
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn


@torch.no_grad()
def score(model: nn.Module, ids: torch.Tensor, window: int = 512, reference: list[torch.Tensor] | None = None,
          keep: bool = False) -> dict:
    """Perplexity of ids (1, N) over non-overlapping windows and, given a reference model's log-probs on the
    same windows, the mean per-token KL(reference ‖ model).

    Returns {"ppl", "kl" (nan without a reference), "logprobs"}: with keep=True, the log-probs of each window
    (T − 1, V), stored as float16 (4,096 tokens x 49,152 classes = 400 MB), to be the reference of later calls.
    KL is a steadier yardstick than a perplexity difference on a few hundred tokens: it compares the two
    models' whole next-token distributions at every position, and it is 0 only if they agree."""
    nll = kl = 0.0
    count, kept = 0, []
    for i, start in enumerate(range(0, ids.shape[1], window)):
        chunk = ids[:, start:start + window]
        if chunk.shape[1] < 2:
            break
        logp = model(chunk).logits[0, :-1].float().log_softmax(-1)  # (T−1, V)
        nll -= float(logp.gather(1, chunk[0, 1:, None]).sum())
        if reference is not None:
            ref = reference[i].float()
            kl += float((ref.exp() * (ref - logp)).sum())
        if keep:
            kept.append(logp.half())
        count += chunk.shape[1] - 1
    return {"ppl": math.exp(nll / count), "kl": kl / count if reference is not None else float("nan"), "logprobs": kept}


def perplexity(model: nn.Module, ids: torch.Tensor, window: int = 512) -> float:
    """exp(mean next-token NLL) over non-overlapping windows of ids (1, N)."""
    return score(model, ids, window)["ppl"]


@torch.no_grad()
def decode_tokens_per_s(model: nn.Module, prompt: torch.Tensor, n_new: int, warmup: int = 2) -> float:
    """Greedy decoding speed with a KV cache: new tokens per second after the prompt (1, T) is prefilled."""
    from transformers import DynamicCache

    def run(n):
        cache = DynamicCache()
        out = model(prompt, past_key_values=cache, use_cache=True)
        token = out.logits[:, -1:].argmax(-1)
        t0 = time.perf_counter()
        for _ in range(n):
            out = model(token, past_key_values=cache, use_cache=True)
            token = out.logits[:, -1:].argmax(-1)
        return time.perf_counter() - t0

    if warmup:
        run(warmup)
    return n_new / run(n_new)


def weight_bytes_per_token(model: nn.Module, untied_embedding: nn.Module | None = None) -> int:
    """Bytes of parameters and buffers one decode step reads: every stored tensor once, except an untied
    embedding table, of which a token reads a single row. (SmolLM2's table is tied to its output head, which
    reads all of it, so nothing is subtracted there.)"""
    from modelbook.compression.qlinear import model_bytes

    total = model_bytes(model)
    if untied_embedding is not None:
        w = untied_embedding.weight
        total -= w.numel() * w.element_size() - w.shape[1] * w.element_size()
    return total


def memory_bandwidth_gbs(n_bytes: int = 256 * 2**20, repeats: int = 5) -> dict[str, float]:
    """Measured memory bandwidth (GB/s): 'copy' = bytes read + written by dst.copy_(src) on a buffer far
    larger than the caches; 'read' = bytes read by a sum over it. Best of `repeats` (the least disturbed)."""
    src = torch.ones(n_bytes // 4)
    dst = torch.empty_like(src)
    copy_t, read_t = [], []
    dst.copy_(src)
    float(src.sum())
    for _ in range(repeats):
        t0 = time.perf_counter()
        dst.copy_(src)
        t1 = time.perf_counter()
        float(src.sum())
        t2 = time.perf_counter()
        copy_t.append(t1 - t0)
        read_t.append(t2 - t1)
    return {"copy": 2 * n_bytes / min(copy_t) / 1e9, "read": n_bytes / min(read_t) / 1e9}
