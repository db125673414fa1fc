"""Mixed-precision training: fp16/bf16 arithmetic, fp32 master weights, and loss scaling.

Mixed precision (Micikevicius et al. 2018) computes the forward and backward passes in a 16-bit float and
keeps an fp32 "master" copy of the weights for the update (a tiny update added to a large weight would be
rounded away in 16 bits). It is *not* a mix of floats and integers (a common mistake, made by the source
article too): integer arithmetic is quantization, a different technique.

The two 16-bit formats trade precision for range:
    fp16:  5 exponent bits, 10 mantissa bits: max 65504, smallest normal 2⁻¹⁴ ≈ 6.10e-5,
           smallest subnormal 2⁻²⁴ ≈ 5.96e-8; anything below ≈ 2⁻²⁵ rounds to 0.
    bf16:  8 exponent bits (fp32's range: max ≈ 3.39e38, smallest normal ≈ 1.18e-38), 7 mantissa bits
           (relative precision 2⁻⁸ ≈ 0.4%).
Gradients are often tiny (Micikevicius et al. show most activation gradients of an SSD detector below
2⁻²⁴), so in fp16 they underflow to zero and the weights stop learning. Loss scaling multiplies the loss by
S before backward (every gradient is scaled by S too, lifting it into fp16's range), then divides the fp32
gradients by S before the update. Dynamic loss scaling picks S automatically: halve it (and skip the step)
when an inf/NaN gradient appears, double it after `growth_interval` clean steps. bf16 has fp32's range, so
it needs no loss scaling.

`DynamicLossScaler` follows torch.amp.GradScaler's rules (same scale sequence; tests/compression/
test_precision.py), and `train_fp16` writes the mixed-precision update out by hand: here the update rule is
the lesson, so this loop does not use core.train.fit.
"""
from __future__ import annotations

import copy
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

FP16_MAX = 65504.0
FP16_MIN_NORMAL = 2.0**-14
FP16_MIN_SUBNORMAL = 2.0**-24


def float_extremes(dtype: torch.dtype = torch.float16) -> dict[str, float]:
    """The extremes of a 16-bit float format, measured rather than looked up: all 65,536 bit patterns are
    reinterpreted as `dtype` and cast to fp32. Returns the largest finite value, the smallest positive value (a
    subnormal), and the smallest normal value: half the first positive value above which the spacing between
    neighbours exceeds the smallest spacing (the subnormals and the first binade of normals share one spacing,
    which doubles at 2 · smallest normal)."""
    values = torch.arange(-2**15, 2**15, dtype=torch.int32).to(torch.int16).view(dtype).double()
    positive = values[torch.isfinite(values) & (values > 0)].sort().values
    gaps = positive.diff()  # gaps[i] = positive[i + 1] - positive[i]
    first_wider = int(torch.nonzero(gaps > gaps[0])[0])
    return {"max": float(values[torch.isfinite(values)].max()), "min_normal": float(positive[first_wider] / 2),
            "min_subnormal": float(positive[0])}


def ieee754_extremes(exponent_bits: int, significand_bits: int) -> dict[str, float]:
    """The same extremes from the format's definition (IEEE 754-2008 §3.3; p counts the implicit leading bit):
    emax = 2^(w−1) − 1, largest finite (2 − 2^(1−p)) · 2^emax, smallest normal 2^(1−emax), smallest subnormal
    2^(1−emax−(p−1)). binary16: w = 5, p = 11; bfloat16 follows the same rule with w = 8, p = 8."""
    emax = 2 ** (exponent_bits - 1) - 1
    return {"max": (2 - 2.0 ** (1 - significand_bits)) * 2.0**emax, "min_normal": 2.0 ** (1 - emax),
            "min_subnormal": 2.0 ** (1 - emax - (significand_bits - 1))}


def worst_relative_error(measured: dict[str, float], defined: dict[str, float]) -> float:
    """Largest |measured − defined| / defined over the keys of `defined`."""
    return max(abs(measured[k] - v) / v for k, v in defined.items())


def fraction_lost_in_fp16(values: torch.Tensor, scale: float = 1.0) -> float:
    """Fraction of the non-zero entries of `values` (fp32) that become 0 when (scale · values) is cast to fp16."""
    nz = values[values != 0].float()
    return float(((nz * scale).half() == 0).float().mean()) if nz.numel() else 0.0


class DynamicLossScaler:
    """Loss scale S: ×growth_factor after growth_interval steps without inf/NaN, ×backoff_factor (and skip the
    step) on an inf/NaN gradient. Defaults as torch.amp.GradScaler: 2¹⁶, 2.0, 0.5, 2000."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000):
        self.scale, self.growth_factor, self.backoff_factor = init_scale, growth_factor, backoff_factor
        self.growth_interval, self.good_steps = growth_interval, 0

    def update(self, found_inf: bool) -> None:
        if found_inf:
            self.scale *= self.backoff_factor
            self.good_steps = 0
        else:
            self.good_steps += 1
            if self.good_steps == self.growth_interval:
                self.scale *= self.growth_factor
                self.good_steps = 0


def train_fp16(model: nn.Module, batches: Iterable, lr: float, loss_multiplier: float = 1.0,
               scaler: DynamicLossScaler | None = None, dtype: torch.dtype = torch.float16) -> dict:
    """SGD with momentum on fp32 master weights, 16-bit compute; returns the trained fp32 model and statistics.

    Each step: copy the master weights to 16 bits -> forward and backward in 16 bits on
    loss_multiplier · loss (· S if a scaler is given) -> gradients to fp32, divided by S -> if any is
    inf/NaN, skip the step and lower S -> else an SGD step on the fp32 master weights.
    `loss_multiplier` < 1 stands in for the small gradients of large models (see the lab); the step size is
    lr / loss_multiplier, so in exact arithmetic the multiplier changes nothing: whatever changes is rounding."""
    master = model.float()
    low = copy.deepcopy(master).to(dtype)
    optimizer = torch.optim.SGD(master.parameters(), lr=lr / loss_multiplier, momentum=0.9)
    zero_fraction, skipped, steps = [], 0, 0
    for x, y in batches:
        # -- the mixed-precision step --
        with torch.no_grad():
            for p16, p32 in zip(low.parameters(), master.parameters()):
                p16.copy_(p32)
        S = scaler.scale if scaler is not None else 1.0
        loss = F.cross_entropy(low(x.to(dtype)).float(), y) * loss_multiplier
        low.zero_grad(set_to_none=True)
        (loss * S).backward()  # gradients computed and stored in 16 bits
        grads = [p.grad.float() / S for p in low.parameters()]  # to fp32, unscaled
        found_inf = not all(torch.isfinite(g).all() for g in grads)
        if scaler is not None:
            scaler.update(found_inf)
        if found_inf:
            skipped += 1
            continue
        # -- bookkeeping --
        zero_fraction.append(float(sum(int((p.grad == 0).sum()) for p in low.parameters())
                                   / sum(p.numel() for p in low.parameters())))
        for p, g in zip(master.parameters(), grads):
            p.grad = g
        optimizer.step()
        steps += 1
    return {"model": master, "zero_grad_fraction": sum(zero_fraction) / max(1, len(zero_fraction)),
            "skipped_steps": skipped, "steps": steps, "final_scale": scaler.scale if scaler else 1.0}


def autocast_cross_entropy(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], dtype: torch.dtype = torch.bfloat16,
                           device_type: str = "cpu") -> torch.Tensor:
    """Cross-entropy of model on batch (x, y) with the forward pass under torch.autocast(dtype): matrix products
    in 16 bits, weights kept in fp32. The logits are cast back to fp32 before the loss (its log-softmax and sum
    need fp32's precision), as torch.amp's recipe does. A loss_fn for workbench.train."""
    with torch.autocast(device_type, dtype=dtype):
        logits = model(batch[0])
    return F.cross_entropy(logits.float(), batch[1])
