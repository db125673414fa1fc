"""Static post-training quantization (PTQ) of a CNN/MLP: int8 weights, int8 activations, calibrated ahead of time.

Static PTQ fixes the activation ranges before deployment, from a few calibration batches, instead of
measuring them on every call (dynamic quantization, qlinear.py):
  0. fold:      merge each BatchNorm into the conv/linear before it (as deployment does)
  1. prepare:   hook every Conv2d/Linear input with an Observer (min-max or percentile)
  2. calibrate: run a few hundred training images through the float model
  3. convert:   each layer becomes a QDQ layer: uint8 activations with the calibrated (s, z), per-channel
                symmetric int8 weights, fp32 bias (int32 in integer kernels, with scale s_x · s_w)

    y = conv(ŝ_x(q_x − z_x), s_w ⊙ q_w) + b,     q_x = clamp(round(x / s_x) + z_x, 0, 255)

The layer computes in float on dequantized values ("QDQ", how ONNX and PT2E graphs represent static
quantization before a backend fuses it into integer kernels); the numbers are those of the integer
pipeline up to the rounding of the final rescale. The lab compares its accuracy with torch.ao's FX-mode
static PTQ, which runs real int8 fbgemm kernels on the same calibration data.
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from modelbook.compression.quantize import Observer, QParams, calibrate, dequantize, fake_quantize, quantize
from modelbook.core.seed import deterministic_algorithms_paused


class QDQLayer(nn.Module):
    """A Conv2d or Linear with int8 per-channel weights and calibrated int8 input activations."""

    def __init__(self, layer: nn.Module, act_qparams: QParams, weight_bits: int = 8, per_channel: bool = True):
        super().__init__()
        w = layer.weight.detach().float()
        wq = calibrate(w, bits=weight_bits, symmetric=True, axis=0 if per_channel else None)
        self.register_buffer("qweight", quantize(w, wq, torch.int8))
        self.w_qparams, self.act_qparams = wq, act_qparams
        self.register_buffer("bias", None if layer.bias is None else layer.bias.detach().clone())
        self.conv = isinstance(layer, nn.Conv2d)
        self.conv_args = (layer.stride, layer.padding, layer.dilation) if self.conv else ()

    def forward(self, x):
        x = fake_quantize(x, self.act_qparams)
        w = dequantize(self.qweight, self.w_qparams)
        if self.conv:
            return F.conv2d(x, w, self.bias, *self.conv_args)
        return F.linear(x, w, self.bias)


@torch.no_grad()
def fold_batchnorm(model: nn.Sequential) -> nn.Sequential:
    """Merge every BatchNorm that follows a Conv2d/Linear into it (inference only):
    w' = w · γ/√(σ² + ε) per output channel,  b' = (b − μ) · γ/√(σ² + ε) + β."""
    layers, out = list(model), []
    for m in layers:
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and out and isinstance(out[-1], (nn.Conv2d, nn.Linear)):
            prev = copy.deepcopy(out[-1])
            factor = m.weight / torch.sqrt(m.running_var + m.eps)  # (C,)
            bias = prev.bias if prev.bias is not None else torch.zeros_like(m.running_mean)
            prev.weight.mul_(factor.reshape(-1, *[1] * (prev.weight.dim() - 1)))
            prev.bias = nn.Parameter((bias - m.running_mean) * factor + m.bias)
            out[-1] = prev
        else:
            out.append(m)
    return nn.Sequential(*out)


@torch.no_grad()
def static_quantize(model: nn.Module, calibration: torch.Tensor, method: str = "minmax", percentile: float = 99.99,
                    per_channel: bool = True, batch_size: int = 256) -> nn.Module:
    """A quantized copy of `model`: fold BatchNorm into the layer before it, observe the inputs of every
    Conv2d/Linear on the calibration images, then replace each layer by a QDQLayer with those activation
    ranges (uint8, asymmetric)."""
    model = fold_batchnorm(copy.deepcopy(model).eval()) if isinstance(model, nn.Sequential) else copy.deepcopy(model).eval()
    layers = {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    observers = {name: Observer(method, percentile, generator=torch.Generator().manual_seed(0)) for name in layers}
    handles = [m.register_forward_pre_hook(lambda mod, args, o=observers[name]: o(args[0])) for name, m in layers.items()]
    try:
        for i in range(0, len(calibration), batch_size):
            model(calibration[i:i + batch_size])
    finally:
        for h in handles:
            h.remove()
    for name, layer in layers.items():
        qp = observers[name].qparams(bits=8, symmetric=False, signed=False)
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, QDQLayer(layer, qp, per_channel=per_channel))
    return model


def int8_bytes(model: nn.Module) -> int:
    """Deployed size of a static-quantized model: int8 weights, fp32 scales and biases, other params fp32."""
    total = 0
    for m in model.modules():
        if isinstance(m, QDQLayer):
            total += m.qweight.numel() + 4 * m.w_qparams.scale.numel() + (4 * m.bias.numel() if m.bias is not None else 0) + 8
        elif not list(m.children()):
            total += sum(p.numel() * p.element_size() for p in list(m.parameters(recurse=False)) + list(m.buffers(recurse=False)))
    return total


def deployable_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """What a deployment ships: the state dict (int8 weights, float biases, the float layers) plus each
    QDQLayer's weight scales and activation scale / zero point, which live outside the state dict."""
    tensors = dict(model.state_dict())
    for name, m in model.named_modules():
        if isinstance(m, QDQLayer):
            tensors[f"{name}.weight_scale"] = m.w_qparams.scale.float().reshape(-1)
            tensors[f"{name}.input_scale_zero_point"] = torch.tensor([float(m.act_qparams.scale), float(m.act_qparams.zero_point)])
    return tensors


def saved_bytes(tensors: dict[str, torch.Tensor], path) -> int:
    """Size on disk of `tensors` written as a safetensors file at `path` (raw tensor bytes + a JSON header)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, str(path))
    return Path(path).stat().st_size


@torch.no_grad()
def torch_ao_static_quantize(model: nn.Module, calibration: torch.Tensor, example: torch.Tensor, batch_size: int = 256):
    """The library reference: torch.ao FX-mode static PTQ (x86 backend, per-channel weights, real int8
    kernels), calibrated on the same images. Deprecated in torch 2.13 in favour of torchao's PT2E flow."""
    import warnings

    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(copy.deepcopy(model).eval(), get_default_qconfig_mapping("x86"), (example,))
        for i in range(0, len(calibration), batch_size):
            prepared(calibration[i:i + batch_size])
        return _PausedDeterminism(convert_fx(prepared))


class _PausedDeterminism(nn.Module):
    """Calls the converted torch.ao model with deterministic-algorithms mode paused: its int8 kernels are
    deterministic, but each call would otherwise print a C++ warning (see core.seed)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        with deterministic_algorithms_paused():
            return self.model(x)
