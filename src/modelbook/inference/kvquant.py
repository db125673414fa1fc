"""KV-cache quantisation as KIVI does it (Liu et al. 2024): keys per CHANNEL, values per TOKEN.

Keys have a few channels with large magnitudes (outlier channels, the same ones at every token), so one scale
per channel, shared by a group of G tokens, fits them; values have no such channels and each token's row gets
its own scale. Symmetric round-to-nearest:  code = round(x / s), s = max|x| / (2^(b−1) − 1),  x̂ = s · code.

The cache keeps the newest tokens in full precision until a group of G is complete (KIVI's residual), then
quantises the group: the per-channel scale needs all G tokens of the group.

    QuantCache: the ContiguousCache interface (prepare / write_read / commit), for PackedLlama.forward;
    feed the text in chunks of G tokens and each chunk attends to the quantised past plus itself.
"""
from __future__ import annotations

import torch


def quantize(x: torch.Tensor, bits: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 codes, scales): symmetric, one scale per slice along `dim` reduced away (dim=-2: over tokens, per
    channel; dim=-1: over channels, per token)."""
    qmax = 2 ** (bits - 1) - 1
    scale = x.abs().amax(dim=dim, keepdim=True).clamp_min(1e-8) / qmax
    return torch.round(x / scale).clamp(-qmax, qmax).to(torch.int8), scale


def dequantize(codes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return codes.to(scale.dtype) * scale


def bytes_per_token(n_layers: int, n_kv: int, head_dim: int, bits: int | None, group: int = 32) -> float:
    """KV bytes one token costs: fp16 K and V (bits None), or b-bit codes + an fp16 value scale per token and
    head + the fp16 key scales per channel amortised over the group."""
    if bits is None:
        return n_layers * 2 * n_kv * head_dim * 2
    codes = n_layers * 2 * n_kv * head_dim * bits / 8
    return codes + n_layers * n_kv * 2 + n_layers * n_kv * head_dim * 2 / group


class QuantCache:
    def __init__(self, n_layers: int, bits: int | None, group: int = 32):
        self.bits, self.group, self.length = bits, group, 0
        self.k = [None] * n_layers  # dequantised past (what attention reads), (H_kv, S, d)
        self.v = [None] * n_layers
        self.pending: list[tuple] = [None] * n_layers

    def prepare(self, t: int) -> None:
        if t != self.group and self.bits is not None:
            raise ValueError(f"feed the quantised cache in chunks of {self.group} tokens")

    def write_read(self, layer: int, k, v):
        past_k, past_v = self.k[layer], self.v[layer]
        full_k = k if past_k is None else torch.cat([past_k, k], 1)
        full_v = v if past_v is None else torch.cat([past_v, v], 1)
        if self.bits is None:
            qk, qv = k, v
        else:
            qk = dequantize(*quantize(k, self.bits, dim=-2))  # per channel over the group's tokens
            qv = dequantize(*quantize(v, self.bits, dim=-1))  # per token over its channels
        self.k[layer] = qk if past_k is None else torch.cat([past_k, qk], 1)
        self.v[layer] = qv if past_v is None else torch.cat([past_v, qv], 1)
        return full_k, full_v  # this chunk attends to itself in full precision (the residual)

    def commit(self, t: int) -> None:
        self.length += t


@torch.inference_mode()
def chunked_nll(engine, ids: list[int], bits: int | None, group: int = 32) -> tuple[float, int]:
    """(summed negative log-likelihood, tokens scored) of ids[1:], in chunks of `group` through a QuantCache."""
    cache = QuantCache(engine.n_layers, bits, group)
    usable = (len(ids) - 1) // group * group
    nll, n = 0.0, 0
    for s in range(0, usable, group):
        chunk = ids[s:s + group]
        logits = engine.forward([chunk], [cache], all_logits=True)[0]
        target = torch.tensor(ids[s + 1:s + group + 1])
        nll += float(torch.nn.functional.cross_entropy(logits.double(), target, reduction="sum"))
        n += len(target)
    return nll, n
