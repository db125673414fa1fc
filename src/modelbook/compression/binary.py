"""Binary weights trained with a straight-through estimator (BinaryConnect, XNOR-Net weights).

BinaryConnect (Courbariaux, Bengio & David 2015) keeps a real-valued "latent" weight w for the optimizer but
uses w_b = sign(w) ∈ {−1, +1} in the forward and backward passes. sign has zero gradient almost everywhere,
so the backward pass pretends it was the identity where |w| ≤ 1 (the straight-through estimator, STE, of the
hard-tanh):

    forward:   w_b = sign(w)                   backward:   ∂L/∂w = ∂L/∂w_b · 1{|w| ≤ 1}

and after each optimizer step the latent weights are clipped to [−1, 1] (otherwise they grow without bound
and can never flip sign again).

XNOR-Net (Rastegari et al. 2016) adds one real scale per output channel, α = mean |w| over that channel's
weights, so w ≈ α · sign(w) minimises ‖w − α b‖² over α for b = sign(w). With batch norm after the layer
the scale matters less, but it keeps activations in range. Storage: 1 bit per weight + one float per channel,
≈ 32× smaller than fp32. Only weights are binarized here (activations stay float, as in BinaryConnect);
binarizing activations too (BNN, XNOR-Net) turns multiply-adds into XNOR + popcount.

Common practice (and ours): the first and last layers stay in float, because they are small and the most
sensitive.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SignSTE(torch.autograd.Function):
    """sign(w) with sign(0) = +1; gradient passed through where |w| ≤ 1 (hard-tanh STE)."""

    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        return grad * (w.abs() <= 1).to(grad.dtype)


def binarize(w: torch.Tensor, channel_scale: bool = True) -> torch.Tensor:
    """α · sign(w): α = mean |w| per output channel (dim 0) if channel_scale, else 1 (pure BinaryConnect).
    The gradient flows through sign by the STE and through α exactly."""
    b = SignSTE.apply(w)
    if not channel_scale:
        return b
    alpha = w.abs().mean(dim=tuple(range(1, w.dim())), keepdim=True)  # (C_out, 1, ...)
    return alpha * b


class BinaryLinear(nn.Linear):
    """nn.Linear whose forward uses binarized weights (the float weight is the latent variable)."""

    def __init__(self, *args, channel_scale: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel_scale = channel_scale

    def forward(self, x):
        return F.linear(x, binarize(self.weight, self.channel_scale), self.bias)


class BinaryConv2d(nn.Conv2d):
    """nn.Conv2d whose forward uses binarized weights."""

    def __init__(self, *args, channel_scale: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel_scale = channel_scale

    def forward(self, x):
        return self._conv_forward(x, binarize(self.weight, self.channel_scale), self.bias)


def binary_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (BinaryLinear, BinaryConv2d))]


@torch.no_grad()
def clip_latent_weights_(model: nn.Module, bound: float = 1.0) -> None:
    """BinaryConnect's clip after every optimizer step: keeps the latent weights in [−1, 1]."""
    for m in binary_layers(model):
        m.weight.clamp_(-bound, bound)


def binary_weight_bytes(model: nn.Module) -> int:
    """Storage of the binarized layers at 1 bit per weight plus one fp32 scale per output channel (and the
    float bias), i.e. what a deployment would ship; other layers are counted at their float size."""
    total = 0
    binary = set(binary_layers(model))
    for m in model.modules():
        if m in binary:
            total += (m.weight.numel() + 7) // 8 + 4 * m.weight.shape[0] + (4 * m.bias.numel() if m.bias is not None else 0)
        elif not list(m.children()):
            total += sum(p.numel() * p.element_size() for p in m.parameters(recurse=False))
            total += sum(b.numel() * b.element_size() for b in m.buffers(recurse=False))
    return total
