"""Quantized linear layers from scratch: dynamic int8 (like torch.ao), weight-only int8, group-wise int4.

Dynamic int8 (W8A8, what `torch.ao.quantization.quantize_dynamic` does for nn.Linear on x86/fbgemm):
    weights:      int8, symmetric, per tensor (or per channel), quantized once ahead of time
    activations:  uint8, asymmetric, per tensor, range measured on each batch at run time ("dynamic"),
                  7 bits only (reduce_range: fbgemm's u8·s8 multiply-adds would overflow int16 otherwise)
    y = s_x · s_w · Σ_k (q_x − z_x) q_w + b      (the sum is an exact int32 integer matmul)
With reduce_range, q_x − z_x lies in [−127, 127], so the integer matmul runs on int8 operands with int32
accumulation (torch._int_mm). Checked against torch.ao in tests/compression/test_qlinear.py.

Weight-only int8 (W8A16/W8A32, LLM.int8-style storage without the outlier split): int8 per-output-channel
weights, activations stay float; y = x · (s ⊙ q)ᵀ. It shrinks memory 4× but, written eagerly, each call first
dequantizes the whole matrix, so it is slower than fp32 on a CPU: the saving pays off only when a fused
kernel reads int8 from memory and dequantizes in registers (benchmarks/decode.py measures this).

Group-wise int4 (W4, as in GPTQ/AWQ/llama.cpp Q4): the input dimension is cut into groups of g weights, each
with its own fp16 scale (and a uint8 zero point or fp16 offset if asymmetric); two 4-bit codes are packed per
byte. Bits per weight = 4 + 16/g (symmetric), 4 + 24/g (integer zero) or 4 + 32/g (fp16 offset): 4.5-5 at g = 32.

`quantize_linears(model, plan)` swaps nn.Linear modules by name; an nn.Embedding tied to a quantized Linear
(SmolLM2's embedding table is its output head) is replaced by a view on the same quantized tensor, so the
table is stored once, as in llama.cpp's files. `model_bytes` counts every stored tensor once.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from modelbook.compression.quantize import calibrate, int_range, qparams_from_range, quantize


# -- dynamic int8, torch.ao-compatible ------------------------------------------------------------------
def dynamic_activation_qparams(x: torch.Tensor, reduce_range: bool = True) -> tuple[float, int]:
    """(scale, zero_point) for uint8 activations, chosen per call like fbgemm's ChooseQuantizationParams:
    the range is widened to include 0, and the zero point is derived from whichever end (min or max) gives
    the smaller rounding error, then rounded and clamped."""
    q_min, q_max = int_range(8, signed=False, reduce_range=reduce_range)
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / (q_max - q_min)
    if float(torch.tensor(scale, dtype=torch.float32)) == 0.0:
        scale = 0.1
    z_from_min, z_from_max = q_min - lo / scale, q_max - hi / scale
    err_min, err_max = abs(q_min) - abs(lo / scale), abs(q_max) - abs(hi / scale)
    zero = z_from_min if err_min < err_max else z_from_max
    return float(torch.tensor(scale, dtype=torch.float32)), int(round(min(max(zero, q_min), q_max)))


class Int8DynamicLinear(nn.Module):
    """W8A8 linear: int8 weights (symmetric, per tensor or per channel), uint8 activations quantized per call."""

    def __init__(self, linear: nn.Linear, per_channel: bool = False, reduce_range: bool = True):
        super().__init__()
        w = linear.weight.detach().float()
        qp = calibrate(w, bits=8, symmetric=True, axis=0 if per_channel else None)
        self.register_buffer("qweight", quantize(w, qp, torch.int8))  # (N, K)
        self.register_buffer("w_scale", qp.scale.float().reshape(-1))  # (1,) or (N,)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().clone())
        self.reduce_range = reduce_range
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1]).float()  # (M, K)
        s_x, z_x = dynamic_activation_qparams(x, self.reduce_range)
        q_min, q_max = int_range(8, signed=False, reduce_range=self.reduce_range)
        centred = torch.clamp(torch.round(x / s_x) + z_x, q_min, q_max) - z_x  # q_x − z_x, integers
        if self.reduce_range:  # |q_x − z_x| ≤ 127: int8 operands, exact int32 accumulation
            acc = torch._int_mm(centred.to(torch.int8), self.qweight.t()).double()  # (M, N)
        else:  # q_x − z_x spans [−255, 255]: exact in float64 instead
            acc = centred.double() @ self.qweight.double().t()
        y = (acc * (s_x * self.w_scale.double())).float()
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shape[:-1], self.out_features)


# -- weight-only int8 ------------------------------------------------------------------------------------
class Int8WeightOnlyLinear(nn.Module):
    """int8 weights with one scale per output channel (symmetric); activations stay float."""

    bits = 8

    def __init__(self, linear: nn.Linear):
        super().__init__()
        w = linear.weight.detach().float()
        qp = calibrate(w, bits=8, symmetric=True, axis=0)
        self.register_buffer("qweight", quantize(w, qp, torch.int8))  # (N, K)
        self.register_buffer("scale", qp.scale.float())  # (N,)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().clone())
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def dequantize_rows(self, rows: torch.Tensor | slice = slice(None)) -> torch.Tensor:
        """Float weights of the given output rows: s_n · q_n."""
        return self.qweight[rows].float() * self.scale[rows].unsqueeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.dequantize_rows().to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))


# -- group-wise int4 -------------------------------------------------------------------------------------
def pack_int4(q: torch.Tensor) -> torch.Tensor:
    """(N, K) codes in 0..15 -> (N, K/2) uint8: element 2j in the low nibble, 2j+1 in the high nibble."""
    q = q.to(torch.uint8)  # from float or int codes
    return q[:, 0::2] | (q[:, 1::2] << 4)


def unpack_int4(packed: torch.Tensor) -> torch.Tensor:
    """(N, K/2) uint8 -> (N, K) codes in 0..15 (uint8)."""
    low, high = packed & 0x0F, packed >> 4
    return torch.stack((low, high), dim=-1).reshape(packed.shape[0], -1)


class Int4GroupLinear(nn.Module):
    """4-bit weights in groups of `group_size` inputs. Three ways to map a group [lo, hi] onto 16 codes:

        "sym":   w = s·(q − 8),        s = max|w| / 7.5               (signed codes −8..7, stored offset by 8)
        "asym":  w = s·(q − z),        z an integer, 0 exactly representable (torch.ao / torchao convention)
        "float": w = s·q + m,          m = the group minimum in fp16 (llama.cpp Q4_1, torchao ZeroPointDomain.FLOAT)

    Scales (and m) are stored in fp16 and the codes computed with the stored value, so decode matches exactly."""

    bits = 4

    def __init__(self, linear: nn.Linear, group_size: int = 32, mode: str = "asym"):
        super().__init__()
        if mode not in ("sym", "asym", "float"):
            raise ValueError(f"unknown int4 mode {mode!r}: use sym, asym or float")
        w = linear.weight.detach().float()
        n, k = w.shape
        if k % group_size:
            raise ValueError(f"in_features={k} is not a multiple of group_size={group_size}")
        groups = w.reshape(n, k // group_size, group_size)  # (N, G, g)
        lo, hi = groups.amin(-1), groups.amax(-1)
        if mode == "float":
            scale = torch.clamp((hi - lo) / 15, min=1e-8).half()
            zero = lo.half()  # fp16 offset m
            q = torch.clamp(torch.round((groups - zero.float().unsqueeze(-1)) / scale.float().unsqueeze(-1)), 0, 15)
        else:
            qp = qparams_from_range(lo, hi, bits=4, symmetric=mode == "sym")
            scale = qp.scale.half()
            zero = None if mode == "sym" else qp.zero_point.to(torch.uint8)  # (N, G)
            q = torch.clamp(torch.round(groups / scale.float().unsqueeze(-1)) + qp.zero_point.unsqueeze(-1), qp.q_min, qp.q_max)
            q = q + (8 if mode == "sym" else 0)
        self.register_buffer("packed", pack_int4(q.reshape(n, k)))  # (N, K/2) uint8
        self.register_buffer("scale", scale)  # (N, G) fp16
        self.register_buffer("zero", zero)  # (N, G): uint8 z, fp16 m, or None
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float().clone())
        self.group_size, self.mode = group_size, mode
        self.in_features, self.out_features = k, n

    def dequantize_rows(self, rows: torch.Tensor | slice = slice(None)) -> torch.Tensor:
        """Float weights of the given output rows, group by group."""
        codes = unpack_int4(self.packed[rows]).float()  # (R, K)
        r = codes.shape[0]
        codes = codes.reshape(r, -1, self.group_size)  # (R, G, g)
        scale = self.scale[rows].float().unsqueeze(-1)
        if self.mode == "float":
            w = codes * scale + self.zero[rows].float().unsqueeze(-1)
        else:
            zero = 8.0 if self.mode == "sym" else self.zero[rows].float().unsqueeze(-1)
            w = (codes - zero) * scale
        return w.reshape(r, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.dequantize_rows().to(x.dtype), None if self.bias is None else self.bias.to(x.dtype))


class QuantizedEmbedding(nn.Module):
    """An embedding table read from a quantized Linear's weight (tied input/output embeddings): looks up
    and dequantizes only the rows it needs, and stores nothing of its own."""

    def __init__(self, head: Int8WeightOnlyLinear | Int4GroupLinear):
        super().__init__()
        self.head = [head]  # a list keeps the module out of this one's state_dict (stored once, by its owner)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head[0].dequantize_rows(ids.reshape(-1)).reshape(*ids.shape, -1)


# -- applying a plan -------------------------------------------------------------------------------------
INT4_MODES = {"int4": "asym", "int4-sym": "sym", "int4-float": "float"}
BITS = {"fp32": 32, "int8": 8, "int8-dynamic": 8, "int4": 4, "int4-sym": 4, "int4-float": 4}

def quantized(linear: nn.Linear, scheme: str, group_size: int = 32) -> nn.Module:
    """The quantized replacement of `linear` for a scheme: 'int8' (weight-only), 'int8-dynamic', 'int4'
    (asymmetric groups, integer zero point), 'int4-sym', 'int4-float' (float offset, like Q4_1), or 'fp32'."""
    if scheme == "fp32":
        return linear
    if scheme == "int8":
        return Int8WeightOnlyLinear(linear)
    if scheme == "int8-dynamic":
        return Int8DynamicLinear(linear, per_channel=True)
    if scheme in INT4_MODES:
        return Int4GroupLinear(linear, group_size, INT4_MODES[scheme])
    raise ValueError(f"unknown scheme {scheme!r}: use fp32, int8, int8-dynamic, {', '.join(INT4_MODES)}")


def quantize_linears(model: nn.Module, plan: dict[str, str], group_size: int = 32) -> dict[str, nn.Module]:
    """Replace the nn.Linear modules named in `plan` (name -> scheme) in place. Returns the original modules
    by name, so `restore(model, originals)` undoes it (one model, many plans, no copies).

    An nn.Embedding whose weight is the same tensor as a replaced Linear's (tied embeddings) becomes a
    QuantizedEmbedding reading the quantized weights, so the table is stored once."""
    modules = dict(model.named_modules())
    originals: dict[str, nn.Module] = {}
    replaced: dict[int, nn.Module] = {}
    for name, scheme in plan.items():
        module = modules.get(name)
        if not isinstance(module, nn.Linear):
            raise ValueError(f"{name!r} is not an nn.Linear in this model")
        new = quantized(module, scheme, group_size)
        if new is not module:
            replaced[id(module.weight)] = new
            originals[name] = module
            _set(model, name, new)
    for name, module in modules.items():
        if isinstance(module, nn.Embedding) and id(module.weight) in replaced:
            head = replaced[id(module.weight)]
            if isinstance(head, (Int8WeightOnlyLinear, Int4GroupLinear)):
                originals[name] = module
                _set(model, name, QuantizedEmbedding(head))
    return originals


def restore(model: nn.Module, originals: dict[str, nn.Module]) -> None:
    """Put back the modules that quantize_linears replaced."""
    for name, module in originals.items():
        _set(model, name, module)


def _set(model: nn.Module, dotted: str, new: nn.Module) -> None:
    parent, _, child = dotted.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, new)


def model_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer, each storage counted once (tied weights are shared)."""
    seen, total = set(), 0
    for t in list(model.parameters()) + list(model.buffers()):
        key = (t.untyped_storage().data_ptr(), t.dtype, t.shape)
        if key not in seen:
            seen.add(key)
            total += t.numel() * t.element_size()
    return total
