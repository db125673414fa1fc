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

Mixed precision (precision="mixed": a bf16 or fp16 model stepped by MasterWeightsAdamW): every saved value is
2 bytes except the fused attention kernel's log-sum-exp (fp32), the loss-gradient buffers are 2-byte, the
states are 2 + 2 + 12, and the step's temporary is one tensor's fp32 gradient and Adam denominator less its
freed 16-bit gradient (6 bytes per element of the largest tensor). torch.autocast is another layout: fp32
weights and gradients (the fp32 row) plus per-op 16-bit casts of the weights, saved for backward.

Cross-checks: tests/scaling/test_flops_memory.py (saved-tensor census of the real GPT, fp32 and bf16, equals
gpt_activation_bytes; parameter counts equal transformers' Llama models on the meta device; MasterWeightsAdamW
equals torch.optim.AdamW bit for bit); the training-cost lab compares training_peak_bytes with the peak measured
by modelbook.core.measure.peak_memory_bytes / memory_marks, and fits the per-parameter table from the latter.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from modelbook.nn.gpt import GPTConfig, n_params

VALUE_BYTES = {"fp32": 4, "mixed": 2}   # bytes of one activation value (mixed: bf16 or fp16 compute)
STATE_BYTES = {  # (weights, gradients, optimizer) bytes per parameter
    ("fp32", "adam"): (4, 4, 8),
    ("mixed", "adam"): (2, 2, 12),
    ("fp32", "sgd_momentum"): (4, 4, 4),
    ("fp32", "sgd"): (4, 4, 0),
}


def model_state_bytes(n: int, precision: str = "fp32", optimizer: str = "adam") -> dict[str, int]:
    w, g, o = STATE_BYTES[(precision, optimizer)]
    return {"weights": w * n, "gradients": g * n, "optimizer": o * n, "total": (w + g + o) * n}


def gpt_activation_bytes(cfg: GPTConfig, batch: int, seq: int, precision: str = "fp32") -> int:
    """Bytes saved for backward by one forward pass of modelbook.nn.gpt.GPT with targets, in fp32 or, for
    "mixed", with the model in bf16/fp16 (every saved value 2 bytes except the fused kernel's log-sum-exp, which
    torch keeps in fp32)."""
    d, h, V, tokens = cfg.d_model, cfg.n_head, cfg.vocab_size, batch * seq
    value = VALUE_BYTES[precision]
    attention = 4 * h if cfg.attention == "sdpa" else value * h * seq     # bytes per token and layer
    per_layer = value * (16 * d + 4) + attention
    top = value * (2 * d + 2 + V)
    integers = 8 * (2 * tokens + seq)
    return tokens * (cfg.n_layer * per_layer + top) + integers


def training_peak_bytes(cfg: GPTConfig, batch: int, seq: int, optimizer: str = "adam", precision: str = "fp32") -> dict[str, int]:
    """Estimated peak bytes of a steady-state training step of the GPT (fp32, or "mixed": a 16-bit model stepped
    by MasterWeightsAdamW), with its two candidate moments."""
    n = n_params(cfg)
    states = model_state_bytes(n, precision, optimizer)
    acts = gpt_activation_bytes(cfg, batch, seq, precision)
    largest = 4 * max(cfg.vocab_size * cfg.d_model, 4 * cfg.d_model * cfg.d_model)       # lm_head or an MLP matrix, fp32
    # mixed: the step's fp32 copy of one tensor's gradient and its Adam denominator, less its freed 16-bit gradient
    step_temporary = largest if precision == "fp32" else largest * 3 // 2
    backward = states["weights"] + states["optimizer"] + acts + 2 * VALUE_BYTES[precision] * batch * seq * cfg.vocab_size
    step = states["total"] + step_temporary
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


class MasterWeightsAdamW:
    """AdamW for a 16-bit model on fp32 master weights, the layout ZeRO counts (2 + 2 + 12 bytes per parameter):
    the model holds bf16/fp16 weights and receives 16-bit gradients; this optimizer holds an fp32 master copy of
    every weight (made from the 16-bit weights, as Megatron-LM does) and Adam's fp32 m and v (created at the
    first step). step() goes tensor by tensor: gradient to fp32 (freeing the 16-bit one), torch's single-tensor
    AdamW update of the master, master rounded back into the model's weight. So beyond the 16 bytes per
    parameter it needs one tensor's fp32 gradient and Adam denominator at a time, not an fp32 gradient of the
    whole model. No loss scaling: bf16 has fp32's range (fp16 would add a scaler, compression/precision.py).

    The arithmetic is torch.optim.AdamW's (foreach=False) on the fp32 gradients; tests/scaling compares them."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2):
        self.params = [p for p in params if p.requires_grad]
        self.master = [p.detach().to(torch.float32, copy=True) for p in self.params]   # fp32 copies, 4 bytes per parameter
        self.m: list[torch.Tensor] = []
        self.v: list[torch.Tensor] = []
        self.lr, self.betas, self.eps, self.weight_decay, self.steps = lr, betas, eps, weight_decay, 0

    @torch.no_grad()
    def step(self) -> None:
        if not self.m:                                               # Adam's state, fp32, at the first step
            self.m = [torch.zeros_like(w) for w in self.master]
            self.v = [torch.zeros_like(w) for w in self.master]
        self.steps += 1
        (b1, b2), lr = self.betas, self.lr
        step_size = lr / (1 - b1 ** self.steps)
        bias_correction2_sqrt = math.sqrt(1 - b2 ** self.steps)
        for p, w, m, v in zip(self.params, self.master, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad.float()
            p.grad = None                                           # the 16-bit gradient is freed tensor by tensor
            w.mul_(1 - lr * self.weight_decay)
            m.lerp_(g, 1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = v.sqrt().div_(bias_correction2_sqrt).add_(self.eps)   # torch's (√v / √bc2) + eps, one temporary
            w.addcdiv_(m, denom, value=-step_size)
            p.copy_(w)                                              # round the master into the 16-bit weight


# -- measuring what the estimator counts (the training-cost lab; tests/labs/test_training_cost.py) --------------
STATE_ROWS = ("weights", "gradients", "optimizer")   # ZeRO's three model states, in STATE_BYTES' order


def mixed_step_memory(gcfg: GPTConfig, idx: torch.Tensor, half: torch.dtype = torch.bfloat16,
                      optimizer=None, autocast: bool = False, lr: float = 1e-3) -> tuple[int, dict[str, int]]:
    """Peak bytes of two mixed-precision AdamW steps of a GPT built inside the measurement, and the live bytes at
    five moments: the model alone, + the optimizer's fp32 master copy, + the first step's gradients, after the
    first step (m and v exist, gradients freed) and at the second step's optimizer call (every model state).
    Default: a `half` model stepped by `optimizer` on fp32 master weights. autocast=True: torch's recipe instead,
    an fp32 model whose forward runs under torch.autocast("cpu", half), stepped by torch.optim.AdamW.
    optimizer: a class like MasterWeightsAdamW (the default); lr only sets the steps' size (memory is what counts)."""
    from modelbook.core.measure import mark, memory_marks
    from modelbook.nn.gpt import GPT

    optimizer = optimizer or MasterWeightsAdamW
    def two_steps():
        model = GPT(gcfg) if autocast else GPT(gcfg).to(half)
        mark("weights")
        opt = torch.optim.AdamW(model.parameters(), lr=lr) if autocast else optimizer(model.parameters(), lr=lr)
        mark("master")
        for step in range(2):
            with torch.autocast("cpu", dtype=half, enabled=autocast):
                loss = model(idx, idx)
            loss.backward()
            del loss
            mark(("first_" if step == 0 else "") + "gradients")
            opt.step()
            if autocast:
                opt.zero_grad(set_to_none=True)
            if step == 0:
                mark("first_step_done")
    return memory_marks(two_steps)


def state_bytes_per_param(params: list[int], marks: list[dict[str, int]]) -> dict[str, float]:
    """Bytes per parameter of each model state, fitted across the GPT sizes: the slope (least squares, with an
    intercept for the mask buffers and small tensors) of the live-byte difference that state adds, vs N."""
    def slope(values):
        return float(np.polyfit(np.asarray(params, float), np.asarray(values, float), 1)[0])
    return {"weights": slope([m["weights"] for m in marks]),
            "master": slope([m["master"] - m["weights"] for m in marks]),
            "gradients": slope([m["first_gradients"] - m["master"] for m in marks]),
            "adam_m_v": slope([m["first_step_done"] - m["master"] for m in marks]),
            "optimizer": slope([m["first_step_done"] - m["weights"] for m in marks]),
            "total": slope([m["gradients"] for m in marks])}


def state_table_errors(table: dict[str, float], per_param: tuple[int, int, int] | None = None) -> dict[str, float]:
    """|measured − counted| bytes per parameter for weights, gradients, optimizer and their total; the counted
    layout is the estimator's (STATE_BYTES["mixed", "adam"], ZeRO's 2 + 2 + 12) unless another is given."""
    counted = dict(zip(STATE_ROWS, per_param or STATE_BYTES[("mixed", "adam")]))
    counted["total"] = sum(counted.values())
    return {k: abs(table[k] - v) for k, v in counted.items()}
