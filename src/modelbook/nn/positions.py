"""Where a token is: RoPE and its context-extension scalings (PI, NTK-aware, YaRN), ALiBi, learned positions.

Rotary positions (RoPE, Su et al. 2021) rotate channel pair i of q and k by the angle m·ω_i at position m,
with ω_i = base^(−2i/d), i = 0 .. d/2 − 1 (the rotation itself is nn/llama_attention.py's apply_rope). A model
trained on positions 0..L−1 has seen, in pair i, the angles 0..(L−1)·ω_i only. The scalings below change ω
so that a longer context L' = s·L stays inside (or near) the angles seen in training:

    position interpolation (PI, Chen et al. 2023)   ω'_i = ω_i / s              every pair slowed s times:
                                                                                position m looks like m / s
    NTK-aware (bloc97 2023, in Peng et al. 2023)    base' = base · s^(d/(d−2))  the fastest pair (i = 0) is untouched,
                                                                                the slowest (i = d/2 − 1) is slowed
                                                                                exactly s times
    YaRN (Peng et al. 2023, "NTK-by-parts" + temperature)
        r_i = L / λ_i, λ_i = 2π / ω_i             (how many full turns pair i makes in the training context)
        γ_i = clamp((r_i − α) / (β − α), 0, 1)    ramp: 1 for fast pairs (r ≥ β, kept), 0 for slow (r ≤ α, PI)
        ω'_i = (1 − γ_i) · ω_i / s + γ_i · ω_i
        logits multiplied by 1/t with √(1/t) = 0.1 ln s + 1 (applied to cos and sin, so to q and to k)

The ramp bounds are stated as dimensions in YaRN's reference code and in transformers: pair i has r_i = β at
i = d·ln(L / (2π β)) / (2 ln base) (floored), r_i = α at the same formula with α (ceiled); α = 1, β = 32 for
Llama. We write the ramp in that form so that the two agree to the bit.

ALiBi (Press et al. 2022) adds no position vectors: head h adds −m_h · (i − j) to the logit of query i on key
j ≤ i. The slopes are a geometric sequence m_h = 2^(−8h/n), h = 1..n, for n a power of two; otherwise the n'
= 2^⌊log2 n⌋ slopes for n' heads followed by the odd-indexed slopes for 2n' heads (the first n − n' of them).

Learned positions (GPT-2): a table of vectors added to the token embeddings. Rows never reached in training
keep their random initial values, which is why such a model cannot read past its training length.

Checked in tests/nn/test_positions.py: the scaled frequencies and YaRN's attention factor equal
transformers' ROPE_INIT_FUNCTIONS ("linear", "dynamic", "yarn") on the same config; the ALiBi slopes equal the
paper's values for 8 heads and transformers' BLOOM build_alibi_tensor for non-powers of two.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

SCALINGS = ("none", "linear", "ntk", "yarn")


def rope_inv_freq(head_dim: int, base: float = 10000.0) -> torch.Tensor:
    """ω_i = base^(−2i/d), i = 0 .. d/2 − 1: (d/2,) float32."""
    return 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)


def linear_inv_freq(head_dim: int, base: float, factor: float) -> torch.Tensor:
    """Position interpolation: every frequency divided by s (position m behaves as m / s)."""
    return rope_inv_freq(head_dim, base) / factor


def ntk_inv_freq(head_dim: int, base: float, factor: float) -> torch.Tensor:
    """NTK-aware scaling: the same formula with base' = base · s^(d/(d−2)). Pair 0 keeps its frequency; the
    slowest pair is slowed s times; the pairs between, by a factor that grows geometrically with i."""
    return rope_inv_freq(head_dim, base * factor ** (head_dim / (head_dim - 2)))


def yarn_attention_factor(factor: float) -> float:
    """√(1/t) = 0.1 ln s + 1, the temperature YaRN recommends (Peng et al. 2023); 1 when not extending (s ≤ 1)."""
    return 1.0 if factor <= 1 else 0.1 * math.log(factor) + 1.0


def yarn_inv_freq(head_dim: int, base: float, factor: float, original_length: int,
                  alpha: float = 1.0, beta: float = 32.0) -> tuple[torch.Tensor, float]:
    """YaRN's frequencies and attention factor: interpolate the slow pairs (fewer than α turns in the original
    context), keep the fast ones (more than β turns), a linear ramp over the pairs between."""
    def pair_with_turns(turns: float) -> float:  # the (fractional) pair index whose wavelength fits `turns` times
        return head_dim * math.log(original_length / (turns * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(pair_with_turns(beta)), 0)
    high = min(math.ceil(pair_with_turns(alpha)), head_dim - 1)
    if low == high:
        high += 0.001  # a one-pair ramp: avoid dividing by zero (transformers does the same)
    ramp = ((torch.arange(head_dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)  # 0 fast .. 1 slow
    keep = 1 - ramp  # γ_i: the share of the original frequency
    inv_freq = rope_inv_freq(head_dim, base)
    return inv_freq / factor * ramp + inv_freq * keep, yarn_attention_factor(factor)


@dataclass(frozen=True)
class RopeScaling:
    """How to stretch a RoPE model trained on `original_length` tokens by `factor`."""

    kind: str = "none"
    """'none' (plain extrapolation), 'linear' (PI), 'ntk' (NTK-aware base change) or 'yarn'"""
    factor: float = 1.0
    original_length: int = 0
    """the training context (YaRN's ramp is set from it)"""

    def __post_init__(self):
        if self.kind not in SCALINGS:
            raise ValueError(f"RoPE scaling must be one of {SCALINGS}, got {self.kind!r}")

    def inv_freq(self, head_dim: int, base: float) -> tuple[torch.Tensor, float]:
        """(ω' (d/2,), attention factor) for this scaling."""
        if self.kind == "none" or self.factor == 1:
            return rope_inv_freq(head_dim, base), 1.0
        if self.kind == "linear":
            return linear_inv_freq(head_dim, base, self.factor), 1.0
        if self.kind == "ntk":
            return ntk_inv_freq(head_dim, base, self.factor), 1.0
        return yarn_inv_freq(head_dim, base, self.factor, self.original_length)


def rope_cos_sin(positions: torch.Tensor, inv_freq: torch.Tensor, attention_factor: float = 1.0, dtype=torch.float32):
    """cos, sin of shape (T, d) for positions (T,), each pair's angle repeated in channels i and i + d/2 (the
    'rotate half' layout), both multiplied by the attention factor (YaRN's temperature)."""
    angles = positions.to(torch.float32)[:, None] * inv_freq[None, :]  # (T, d/2)
    emb = torch.cat([angles, angles], dim=-1)  # (T, d)
    return (emb.cos() * attention_factor).to(dtype), (emb.sin() * attention_factor).to(dtype)


# -- ALiBi ------------------------------------------------------------------------------------------------
def alibi_slopes(n_heads: int) -> torch.Tensor:
    """The n head slopes m_h, (n,) float32: 2^(−8h/n) for a power of two, else the padded sequence above."""
    n = 2 ** math.floor(math.log2(n_heads))
    slopes = [2.0 ** (-8.0 * h / n) for h in range(1, n + 1)]
    # the sequence for 2n heads is 2^(−4h/n); its odd-indexed terms (h = 1, 3, 5, ...) sit between ours
    slopes += [2.0 ** (-4.0 * h / n) for h in range(1, 2 * (n_heads - n), 2)]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(slopes: torch.Tensor, t: int, causal: bool = True) -> torch.Tensor:
    """(H, T, T) additive logit bias −m_h · (i − j); with causal, −inf above the diagonal (keys after the query)."""
    pos = torch.arange(t)
    distance = (pos[:, None] - pos[None, :]).to(torch.float32)  # i − j, (T, T)
    bias = -slopes[:, None, None] * distance.clamp(min=0)
    if causal:
        bias = bias.masked_fill(distance < 0, float("-inf"))
    return bias
