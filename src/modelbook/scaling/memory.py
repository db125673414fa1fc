"""How much memory training takes: model states (weights, gradients, optimizer) and activations.

Model states, bytes per parameter (Rajbhandari et al., "ZeRO", SC 2020, §3.1):

                                 weights  gradients  optimizer state                 total
    fp32, Adam                      4         4      m, v: 4 + 4                     16
    mixed precision, Adam           2         2      fp32 master 4 + m 4 + v 4 = 12   16   (ZeRO's "K = 12")
    fp32, SGD with momentum         4         4      velocity 4                      12
    fp32, plain SGD                 4         4      —                                8

Mixed precision does not shrink the model states (the fp32 master copy and Adam's moments stay); it halves the
activations and speeds up the matmuls. ZeRO shards the states across data-parallel ranks; that is how a 70B
model (≈ 1.1 TB of states) is trained on 80 GB GPUs.

Activations: the tensors autograd saves in the forward pass for the backward pass. For the GPT of
modelbook.nn.gpt, counted op by op (values per token; d model width, h heads, T sequence, V vocabulary):

    per layer   ln1 input x, ln1 output, q/k/v (one 3d buffer, or three copies on the math path), attention
                output (= proj input), ln2 input, ln2 output, fc1 output (4d, GELU input), GELU output (4d)
                = 16·d,  + 4 (LayerNorm mean and 1/σ, twice)
                + h (sdpa: the log-sum-exp per head)  or  + h·T (math: the softmax probabilities)
    top         ln_f input and output 2·d + 2, the log-probabilities V
    integers    token ids, targets (int64) and the position ids

This is Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models", §4.1:
34·s·b·h + 5·a·s²·b bytes per layer in 16-bit with dropout) without the dropout masks and in 4-byte values:
16·d + h·T per token; a fused (flash) attention kernel removes the h·T term.

Peak of a training step (after the first, when Adam's state exists), the larger of two moments:
    start of backward  weights + optimizer state + activations + 2·B·T·V·4 (gradients of the log-probabilities
                       and of the logits, both alive while the loss's backward runs)
    optimizer step     weights + gradients + optimizer state + one parameter-sized temporary (Adam's denominator)
The textbook sum weights + gradients + optimizer + activations overestimates: gradients are allocated layer
by layer while the activations of that layer are freed.

Cross-checks: tests/scaling/test_memory.py (saved-tensor census of the real GPT equals gpt_activation_bytes;
parameter counts equal transformers' Llama models on the meta device); the training-cost lab compares
training_peak_bytes with the peak measured by modelbook.core.measure.peak_memory_bytes.
"""
from __future__ import annotations

from modelbook.nn.gpt import GPTConfig, n_params

STATE_BYTES = {  # (weights, gradients, optimizer) bytes per parameter
    ("fp32", "adam"): (4, 4, 8),
    ("mixed", "adam"): (2, 2, 12),
    ("fp32", "sgd_momentum"): (4, 4, 4),
    ("fp32", "sgd"): (4, 4, 0),
}


def model_state_bytes(n: int, precision: str = "fp32", optimizer: str = "adam") -> dict[str, int]:
    w, g, o = STATE_BYTES[(precision, optimizer)]
    return {"weights": w * n, "gradients": g * n, "optimizer": o * n, "total": (w + g + o) * n}


def gpt_activation_bytes(cfg: GPTConfig, batch: int, seq: int) -> int:
    """Bytes saved for backward by one forward pass of modelbook.nn.gpt.GPT with targets (fp32)."""
    d, h, V, tokens = cfg.d_model, cfg.n_head, cfg.vocab_size, batch * seq
    attention = h if cfg.attention == "sdpa" else h * seq
    per_layer = 16 * d + 4 + attention
    top = 2 * d + 2 + V
    integers = 8 * (2 * tokens + seq)
    return 4 * tokens * (cfg.n_layer * per_layer + top) + integers


def training_peak_bytes(cfg: GPTConfig, batch: int, seq: int, optimizer: str = "adam") -> dict[str, int]:
    """Estimated peak bytes of a steady-state training step of the GPT (fp32), with its two candidate moments."""
    n = n_params(cfg)
    states = model_state_bytes(n, "fp32", optimizer)
    acts = gpt_activation_bytes(cfg, batch, seq)
    largest = 4 * max(cfg.vocab_size * cfg.d_model, 4 * cfg.d_model * cfg.d_model)       # lm_head or an MLP matrix
    backward = states["weights"] + states["optimizer"] + acts + 2 * 4 * batch * seq * cfg.vocab_size
    step = states["total"] + largest
    return {"params": n, "activations": acts, "backward_start": backward, "optimizer_step": step,
            "peak": max(backward, step), "naive_sum": states["total"] + acts}


def korthikanti_activation_bytes(n_layer: int, d: int, n_head: int, seq: int, batch: int = 1,
                                 flash: bool = True, recompute: bool = False) -> int:
    """Activation bytes of a GPT-style stack in 16-bit with dropout (Korthikanti et al. 2022, §4.1, eq. 1):
    per layer s·b·h·(34 + 5·a·s/h); a flash kernel drops the 5·a·s²·b term; full recomputation keeps only each
    layer's 16-bit input, 2·s·b·h (their §4.3)."""
    if recompute:
        return n_layer * 2 * seq * batch * d
    per_layer = 34 * seq * batch * d + (0 if flash else 5 * n_head * seq * seq * batch)
    return n_layer * per_layer
