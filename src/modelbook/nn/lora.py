"""LoRA from scratch: a low-rank update beside a frozen linear layer, and QLoRA over a frozen int4 base.

LoRA (Hu et al. 2021) keeps a pretrained weight W₀ (out × in) frozen and learns a rank-r update:

    y = W₀ x + b + (α / r) · B A dropout(x)        A: (r × in), B: (out × r), r ≪ min(in, out)

A starts random (Kaiming-uniform, a = √5, like nn.Linear and peft), B starts at zero, so training begins at
the pretrained function. Only A and B (r·(in + out) numbers per layer) get gradients and optimizer state.
After training the update folds into the weight, W = W₀ + (α / r)·B A ("merge"): the merged layer computes
exactly what the adapter path computed (up to float rounding; dropout is off at inference) and adds no latency.
`unmerge` subtracts it again, so one base can switch adapters.

QLoRA (Dettmers et al. 2023) is the same adapter over a base stored in 4 bits: here the base is our
`modelbook.compression.qlinear.Int4GroupLinear` (group-wise int4, dequantized on the fly), frozen; the
adapter stays in fp32. Its merge cannot go back into 4 bits without a new rounding error, so `merged_linear`
returns an fp32 nn.Linear with W = dequant(W₀) + ΔW (what the adapter path computes).

    adapters = inject_lora(model, ["query", "value"], r=8, alpha=16)          # freezes everything else
    adapters = inject_lora(model, ["query", "value"], r=8, quantize="int4")   # QLoRA
    trainable, total = count_parameters(model)
    merge_lora(model)                                                         # adapters -> plain nn.Linear

Any module exposing `in_features`, `out_features`, a forward and either a `weight` (nn.Linear) or
`dequantize_rows()` (our int8/int4 layers) can be the base. tests/nn/test_lora.py holds our layer to
peft 0.22's `LoraLayer` on the same weights and inputs.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn


def base_weight(base: nn.Module) -> torch.Tensor:
    """The float weight (out, in) a base layer computes with: nn.Linear's weight, or a quantized layer's
    dequantized weight."""
    if isinstance(base, nn.Linear):
        return base.weight
    if hasattr(base, "dequantize_rows"):
        return base.dequantize_rows()
    raise TypeError(f"LoRA base {type(base).__name__} has neither a weight nor dequantize_rows()")


class LoRALinear(nn.Module):
    """A frozen base layer plus a trainable low-rank update (α / r)·B A (see the module docstring)."""

    def __init__(self, base: nn.Module, r: int = 8, alpha: float = 16.0, dropout: float = 0.0):
        super().__init__()
        if r < 1:
            raise ValueError(f"LoRA rank r must be ≥ 1, got {r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"LoRA dropout must be in [0, 1), got {dropout}")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.r, self.alpha, self.scaling = r, alpha, alpha / r
        w = base_weight(base)
        self.lora_A = nn.Parameter(torch.empty(r, self.in_features, dtype=torch.float32, device=w.device))
        self.lora_B = nn.Parameter(torch.zeros(self.out_features, r, dtype=torch.float32, device=w.device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # as nn.Linear and peft; B = 0 makes ΔW = 0
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        """ΔW = (α / r)·B A, shape (out, in)."""
        return (self.lora_B @ self.lora_A) * self.scaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if self.merged:
            return y
        return y + F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B) * self.scaling

    @torch.no_grad()
    def merge(self) -> None:
        """Fold ΔW into an nn.Linear base in place (no-op if merged). Quantized bases: use merged_linear()."""
        if self.merged:
            return
        if not isinstance(self.base, nn.Linear):
            raise TypeError("merge() needs an nn.Linear base; a quantized base would need re-quantizing: "
                            "use merged_linear() for an fp32 layer")
        self.base.weight += self.delta_weight().to(self.base.weight.dtype)
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Subtract ΔW again (no-op if not merged)."""
        if not self.merged:
            return
        self.base.weight -= self.delta_weight().to(self.base.weight.dtype)
        self.merged = False

    @torch.no_grad()
    def merged_linear(self) -> nn.Linear:
        """A new fp32 nn.Linear computing the same function as this layer (W₀ or dequant(W₀), plus ΔW unless merged)."""
        w = base_weight(self.base).float()
        bias = getattr(self.base, "bias", None)
        out = nn.Linear(self.in_features, self.out_features, bias=bias is not None, device=w.device)
        out.weight.copy_(w if self.merged else w + self.delta_weight())
        if bias is not None:
            out.bias.copy_(bias.float())
        return out

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, r={self.r}, alpha={self.alpha:g}"


def _matches(name: str, targets) -> bool:
    """peft's rule for a list of target names: the module's full name equals a target or ends with '.' + target."""
    if callable(targets):
        return bool(targets(name))
    return any(name == t or name.endswith("." + t) for t in targets)


def inject_lora(model: nn.Module, targets: Iterable[str] | Callable[[str], bool], r: int = 8, alpha: float = 16.0,
                dropout: float = 0.0, quantize: str | None = None, group_size: int = 32,
                freeze: bool = True) -> dict[str, LoRALinear]:
    """Wrap every nn.Linear of `model` whose name matches `targets` (names, suffix-matched like peft, or a
    predicate) in a LoRALinear, in place. quantize="int4" (or any scheme of compression.qlinear.quantized)
    first swaps the base for a frozen quantized layer: QLoRA. With freeze (default) every other parameter is
    frozen, so only the adapters train; unfreeze a task head afterwards. Returns {name: adapter}."""
    targets = targets if callable(targets) else tuple(targets)
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and _matches(n, targets)]
    if not found:
        raise ValueError(f"no nn.Linear module of {type(model).__name__} matches the LoRA targets {targets!r}")
    if freeze:
        for p in model.parameters():
            p.requires_grad_(False)
    adapters = {}
    for name, linear in found:
        base: nn.Module = linear
        if quantize is not None:
            from modelbook.compression.qlinear import quantized

            base = quantized(linear, quantize, group_size)
        adapters[name] = LoRALinear(base, r, alpha, dropout).train(linear.training)  # keep the model's mode
        _set_module(model, name, adapters[name])
    return adapters


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRALinear in `model` with the plain nn.Linear it equals (merged_linear), in place."""
    names = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    for name in names:
        _set_module(model, name, model.get_submodule(name).merged_linear())
    return model


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The A and B matrices of every adapter in `model`."""
    return [p for m in model.modules() if isinstance(m, LoRALinear) for p in (m.lora_A, m.lora_B)]


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts. Quantized base weights are buffers, counted by their element count
    (one weight each), so 'total' means the same with and without QLoRA."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    for m in model.modules():
        if isinstance(m, LoRALinear) and not isinstance(m.base, nn.Linear):
            total += m.in_features * m.out_features + (0 if getattr(m.base, "bias", None) is None else m.out_features)
    return trainable, total


def lora_parameter_count(shapes: Iterable[tuple[int, int]], r: int) -> int:
    """r·(in + out) summed over the adapted layers' (out, in) shapes: the count the LoRA paper gives."""
    return sum(r * (i + o) for o, i in shapes)


def training_state_bytes(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict[str, int]:
    """Bytes held for training, measured on the live tensors: weights (parameters and buffers: a quantized base
    counts its packed codes and scales), gradients present, and the optimizer's state tensors (Adam: 2 per
    trainable parameter, after its first step)."""
    weights = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
    grads = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters() if p.grad is not None)
    state = 0
    if optimizer is not None:
        for s in optimizer.state.values():
            state += sum(v.numel() * v.element_size() for v in s.values() if torch.is_tensor(v) and v.dim() > 0)
    return {"weights": weights, "grads": grads, "optimizer": state, "total": weights + grads + state}


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)
