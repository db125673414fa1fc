"""Uniform (affine) quantization from scratch: scales, zero points, calibration, fake quantization.

A real number x is stored as a b-bit integer q and read back as x̂:

    q = clamp(round(x / s) + z, q_min, q_max)          x̂ = s · (q − z)

s (scale) is the step between two representable values, z (zero point) the integer that stands for 0.0,
so zero-padding and ReLU zeros are represented exactly. Given a calibrated range [lo, hi] (always widened to
include 0):

    asymmetric (affine):  s = (hi − lo) / (q_max − q_min),      z = q_min − round(lo / s)
    symmetric:            s = max(|lo|, |hi|) / ((q_max − q_min) / 2),   z = 0 (signed) or 128 (uint8)

These are exactly torch.ao's MinMaxObserver formulas (note the symmetric denominator is 127.5, not 127, for
int8), so our parameters and integers equal torch's bit for bit (tests/compression/test_quantize.py).
Asymmetric spends the whole grid on the range actually used (good for post-ReLU activations, all ≥ 0);
symmetric keeps z = 0, which makes the integer matmul cheaper (no zero-point cross terms) and suits weights,
which are roughly symmetric around 0.

Granularity: per-tensor (one s for the tensor), per-channel (one s per output channel: a row of a Linear
weight, a filter of a Conv2d) and per-group (one s per block of g consecutive inputs, used for int4 weights in
qlinear.py). Finer granularity costs a few bytes of scales and cuts the error when channels differ in range.

Calibration picks [lo, hi]: min-max uses the extremes, so one outlier stretches the grid for everyone;
percentile clipping (e.g. 99.99th) sacrifices the rare outliers (clipped) for a finer grid on the bulk.
Observers accumulate the range over calibration batches for static (ahead-of-time) activation quantization.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

EPS = torch.finfo(torch.float32).eps  # torch.ao's floor for scales


@dataclass(frozen=True)
class QParams:
    """Scale and zero point (scalars, or vectors along `axis` for per-channel) and the integer range."""

    scale: torch.Tensor  # () or (C,)
    zero_point: torch.Tensor  # int64, same shape as scale
    q_min: int
    q_max: int
    axis: int | None = None  # the channel axis for per-channel parameters

    def _shape(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.axis is None:
            return self.scale, self.zero_point
        shape = [1] * x.dim()
        shape[self.axis] = -1
        return self.scale.view(shape), self.zero_point.view(shape)


def int_range(bits: int, signed: bool, reduce_range: bool = False) -> tuple[int, int]:
    """(q_min, q_max) of a b-bit integer; reduce_range drops one bit (fbgemm's guard against int16 overflow)."""
    if reduce_range:
        bits -= 1
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)


def qparams_from_range(lo: torch.Tensor, hi: torch.Tensor, bits: int = 8, symmetric: bool = True,
                       signed: bool | None = None, axis: int | None = None, reduce_range: bool = False) -> QParams:
    """Scale and zero point for the range [lo, hi] (tensors: scalars or per-channel vectors)."""
    signed = symmetric if signed is None else signed
    q_min, q_max = int_range(bits, signed, reduce_range)
    lo = torch.minimum(torch.as_tensor(lo, dtype=torch.float32), torch.tensor(0.0))  # 0 must be representable
    hi = torch.maximum(torch.as_tensor(hi, dtype=torch.float32), torch.tensor(0.0))
    if symmetric:
        scale = torch.clamp(torch.maximum(-lo, hi) / ((q_max - q_min) / 2), min=EPS)
        zero = torch.full_like(scale, 0 if signed else (q_min + q_max + 1) // 2, dtype=torch.int64)
    else:
        scale = torch.clamp((hi - lo) / (q_max - q_min), min=EPS)
        zero = torch.clamp(q_min - torch.round(lo / scale).to(torch.int64), q_min, q_max)
    return QParams(scale, zero, q_min, q_max, axis)


def minmax_range(x: torch.Tensor, axis: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(min, max) of x, over everything (axis=None) or per slice along `axis`."""
    if axis is None:
        return x.min(), x.max()
    flat = x.detach().transpose(0, axis).reshape(x.shape[axis], -1)  # (C, rest)
    return flat.min(dim=1).values, flat.max(dim=1).values


def percentile_range(x: torch.Tensor, percentile: float = 99.99) -> tuple[torch.Tensor, torch.Tensor]:
    """The (100 − p)th and pth percentiles of x: clip the rare outliers instead of stretching the grid."""
    flat = x.detach().reshape(-1).float()
    n = flat.numel()
    k_hi = min(n, max(1, int(round(n * percentile / 100))))
    k_lo = max(1, min(n, n - k_hi + 1))
    return flat.kthvalue(k_lo).values, flat.kthvalue(k_hi).values


def calibrate(x: torch.Tensor, bits: int = 8, symmetric: bool = True, axis: int | None = None,
              method: str = "minmax", percentile: float = 99.99, signed: bool | None = None) -> QParams:
    """QParams for the tensor x: min-max or percentile range, per-tensor or per-channel (axis)."""
    if method == "minmax":
        lo, hi = minmax_range(x, axis)
    elif method == "percentile":
        if axis is not None:
            raise ValueError("percentile calibration is per-tensor here")
        lo, hi = percentile_range(x, percentile)
    else:
        raise ValueError(f"unknown calibration method {method!r}: use 'minmax' or 'percentile'")
    return qparams_from_range(lo, hi, bits, symmetric, signed, axis)


def quantize(x: torch.Tensor, qp: QParams, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    """q = clamp(round(x / s) + z, q_min, q_max) as `dtype` (round half to even). Like torch's and fbgemm's
    kernels we multiply by the float32 reciprocal 1/s rather than divide: the two differ in the last bit for
    values on a rounding boundary, and this way our codes equal torch's exactly."""
    scale, zero = qp._shape(x)
    return torch.clamp(torch.round(x * (1.0 / scale)).add_(zero), qp.q_min, qp.q_max).to(dtype)


def dequantize(q: torch.Tensor, qp: QParams) -> torch.Tensor:
    """x̂ = s · (q − z)."""
    scale, zero = qp._shape(q)
    return (q - zero).to(torch.float32) * scale


def fake_quantize(x: torch.Tensor, qp: QParams, ste: bool = False) -> torch.Tensor:
    """Quantize then dequantize in float (what a QDQ graph computes). With ste=True the gradient passes
    straight through (identity), the usual trick for quantization-aware training."""
    y = dequantize(quantize(x, qp), qp)
    return x + (y - x).detach() if ste else y


def sqnr_db(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Signal-to-quantization-noise ratio 10·log10(Σx² / Σ(x − x̂)²) in dB (≈ 6.02 dB per bit for uniform data)."""
    noise = (x - x_hat).double().pow(2).sum()
    return float(10 * torch.log10(x.double().pow(2).sum() / noise.clamp(min=1e-300)))


class Observer:
    """Accumulates the range of activations over calibration batches (static post-training quantization).

    method "minmax" keeps the running min and max; "percentile" keeps a fixed-size random sample of the
    values seen (drawn with an explicit generator) and takes percentiles of it at the end.
    """

    def __init__(self, method: str = "minmax", percentile: float = 99.99, sample_size: int = 2_000_000,
                 generator: torch.Generator | None = None):
        if method not in ("minmax", "percentile"):
            raise ValueError(f"unknown calibration method {method!r}: use 'minmax' or 'percentile'")
        self.method, self.percentile, self.sample_size = method, percentile, sample_size
        self.generator = generator or torch.Generator().manual_seed(0)
        self.lo, self.hi, self.samples = None, None, []

    def __call__(self, x: torch.Tensor) -> None:
        x = x.detach().reshape(-1).float()
        lo, hi = x.min(), x.max()
        self.lo = lo if self.lo is None else torch.minimum(self.lo, lo)
        self.hi = hi if self.hi is None else torch.maximum(self.hi, hi)
        if self.method == "percentile":
            keep = min(x.numel(), self.sample_size // 8)
            idx = torch.randperm(x.numel(), generator=self.generator)[:keep]
            self.samples.append(x[idx])

    def qparams(self, bits: int = 8, symmetric: bool = False, signed: bool | None = None) -> QParams:
        if self.lo is None:
            raise ValueError("the observer has seen no data: run calibration batches first")
        if self.method == "minmax":
            lo, hi = self.lo, self.hi
        else:
            lo, hi = percentile_range(torch.cat(self.samples), self.percentile)
        return qparams_from_range(lo, hi, bits, symmetric, signed)
