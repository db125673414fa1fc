"""The decoder block and its variants: norm placement (pre-LN, post-LN), feed-forward (SwiGLU, GELU), positions
(RoPE with PI / NTK / YaRN scaling, ALiBi, learned, none); a small decoder LM built from it.

    pre-LN  (GPT-2, Llama):             x = x + Attn(N₁(x));      x = x + FFN(N₂(x));     logits = N_f(x) Eᵀ
    post-LN (Vaswani et al. 2017):      x = N₁(x + Attn(x));      x = N₂(x + FFN(x));     logits = x Eᵀ

    N = RMSNorm (Zhang & Sennrich 2019: g ⊙ x / rms(x)) or LayerNorm (centred, with a bias)
    FFN = SwiGLU: W_down (silu(W_gate x) ⊙ W_up x)      three d × d_ff matrices (Shazeer 2020)
        = GELU:   W_down gelu(W_up x)                   two; at d_ff = 4d it has as many weights as SwiGLU at
                                                        d_ff = 8d/3, the width Shazeer compares at

Why pre-LN: in post-LN every residual sum passes through a norm, so the gradient reaching layer l is rescaled
by each norm above it; Xiong et al. 2020 show that at initialisation the gradient of the last layers' weights
is large in post-LN (independent of depth) and small in pre-LN (shrinking like 1/√L), which is why post-LN needs
a learning-rate warm-up and pre-LN trains without one. The lab measures it.

Naming follows transformers' LlamaDecoderLayer (input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
mlp.{gate,up,down}_proj), so `DecoderLayer.from_llama` loads a real SmolLM2 layer's state dict as it is.
Pieces reused from nn/llama.py (RMSNorm, SwiGLU) and nn/llama_attention.py (the attention weights, apply_rope);
positions from nn/positions.py.

Checked in tests/nn/test_blocks.py: a pre-LN RMSNorm + SwiGLU + RoPE layer equals LlamaDecoderLayer (float64,
outputs and gradients); post-LN and ALiBi layers against the same equations written independently.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from modelbook.nn.llama import RMSNorm, SwiGLU
from modelbook.nn.llama_attention import GroupedQueryAttention, apply_rope
from modelbook.nn.positions import RopeScaling, alibi_bias, alibi_slopes, rope_cos_sin

NORMS, PLACEMENTS, FFNS, POSITIONS = ("rms", "layer"), ("pre", "post"), ("swiglu", "gelu"), ("rope", "alibi", "learned", "none")
INITS = ("normal", "fan_in")
INIT_STD = 0.02  # GPT-2's initialisation: normal, std 0.02, for every weight matrix and embedding


@dataclass(frozen=True)
class DecoderConfig:
    vocab_size: int
    d_model: int = 48
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 0
    """key/value heads (grouped-query attention); 0 = n_heads"""
    d_ff: int = 0
    """feed-forward width; 0 = equal parameters: 4d for GELU, 8d/3 for SwiGLU"""
    norm: str = "rms"
    placement: str = "pre"
    ffn: str = "swiglu"
    positions: str = "rope"
    rope_base: float = 10000.0
    max_positions: int = 256
    """rows of the learned position table"""
    eps: float = 1e-6
    init: str = "normal"
    """'normal': every matrix N(0, 0.02²) (GPT-2); 'fan_in': linear layers N(0, 1/fan_in) (Xavier-like, the
    initialisation Xiong et al. 2020 analyse), embeddings N(0, 0.02²)"""

    def __post_init__(self):
        for value, allowed in ((self.norm, NORMS), (self.placement, PLACEMENTS), (self.ffn, FFNS), (self.positions, POSITIONS),
                               (self.init, INITS)):
            if value not in allowed:
                raise ValueError(f"{value!r} is not one of {allowed}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def ffn_width(self) -> int:
        if self.d_ff:
            return self.d_ff
        return 4 * self.d_model if self.ffn == "gelu" else round(8 * self.d_model / 3)


class GELUFeedForward(nn.Module):
    def __init__(self, d: int, d_ff: int):
        super().__init__()
        self.up_proj = nn.Linear(d, d_ff, bias=False)
        self.down_proj = nn.Linear(d_ff, d, bias=False)

    def forward(self, x):  # (B, T, D) -> (B, T, D)
        return self.down_proj(F.gelu(self.up_proj(x)))


class Attention(GroupedQueryAttention):
    """GroupedQueryAttention's weights with the positions handed in: RoPE's cos/sin (any scaling) or an additive
    ALiBi bias, or neither (learned or no positions). Causal; torch's fused SDPA kernel for speed."""

    def forward(self, x, cos=None, sin=None, bias=None):
        """x (B, T, D); cos, sin (T, d); bias (H, T, T) with −inf above the diagonal -> (B, T, D)."""
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, d)
        k = self.k_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, H_kv, T, d)
        v = self.v_proj(x).view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        if cos is not None:
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        group = self.n_heads // self.n_kv_heads
        if group > 1:
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        if bias is None:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        d = cfg.d_model

        def norm():
            return RMSNorm(d, cfg.eps) if cfg.norm == "rms" else nn.LayerNorm(d, eps=cfg.eps)

        self.placement = cfg.placement
        self.input_layernorm, self.post_attention_layernorm = norm(), norm()
        self.self_attn = Attention(d, cfg.n_heads, cfg.n_kv_heads or cfg.n_heads, cfg.head_dim, cfg.rope_base)
        self.mlp = SwiGLU(d, cfg.ffn_width) if cfg.ffn == "swiglu" else GELUFeedForward(d, cfg.ffn_width)

    def forward(self, x, cos=None, sin=None, bias=None):
        if self.placement == "pre":
            x = x + self.self_attn(self.input_layernorm(x), cos, sin, bias)
            return x + self.mlp(self.post_attention_layernorm(x))
        x = self.input_layernorm(x + self.self_attn(x, cos, sin, bias))
        return self.post_attention_layernorm(x + self.mlp(x))

    @classmethod
    @torch.no_grad()
    def from_llama(cls, layer: nn.Module, config) -> "DecoderLayer":
        """Our layer with a Hugging Face LlamaDecoderLayer's weights (copied) and its config's sizes."""
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        if head_dim * config.num_attention_heads != config.hidden_size:
            raise ValueError("DecoderLayer needs head_dim · n_heads = hidden_size")
        rope = getattr(config, "rope_parameters", None) or {}
        cfg = DecoderConfig(config.vocab_size, config.hidden_size, 1, config.num_attention_heads, config.num_key_value_heads,
                            config.intermediate_size, rope_base=rope.get("rope_theta", 10000.0), eps=config.rms_norm_eps)
        with torch.device("meta"):  # no memory and no random initialisation: every weight is assigned below
            ours = cls(cfg)
        ours.load_state_dict({k: v.clone() for k, v in layer.state_dict().items()}, assign=True)
        return ours


class DecoderLM(nn.Module):
    """Token ids (B, T) -> logits (B, T, V), or the mean next-token cross-entropy given targets. The output
    head is tied to the token embedding. `rope_scaling` may be changed after training (context extension)."""

    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.position_table = nn.Embedding(cfg.max_positions, cfg.d_model) if cfg.positions == "learned" else None
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.n_layers))
        # post-LN's last sublayer already ends in a norm; pre-LN needs one before the head (GPT-2's ln_f)
        self.norm = (RMSNorm(cfg.d_model, cfg.eps) if cfg.norm == "rms" else nn.LayerNorm(cfg.d_model, eps=cfg.eps)) \
            if cfg.placement == "pre" else nn.Identity()
        self.register_buffer("slopes", alibi_slopes(cfg.n_heads), persistent=False)
        self.rope_scaling = RopeScaling()
        for m in self.modules():
            if isinstance(m, nn.Linear) and cfg.init == "fan_in":
                nn.init.normal_(m.weight, std=m.in_features ** -0.5)
            elif isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=INIT_STD)

    def positional(self, t: int, device=None) -> dict:
        """The keyword arguments every layer gets for a length-t sequence: cos/sin, an ALiBi bias, or nothing."""
        if self.cfg.positions == "rope":
            inv_freq, factor = self.rope_scaling.inv_freq(self.cfg.head_dim, self.cfg.rope_base)
            cos, sin = rope_cos_sin(torch.arange(t, device=device), inv_freq, factor)
            return {"cos": cos, "sin": sin}
        if self.cfg.positions == "alibi":
            return {"bias": alibi_bias(self.slopes, t)}
        return {}

    def forward(self, ids: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        t = ids.shape[1]
        x = self.embed_tokens(ids)  # (B, T, D)
        if self.position_table is not None:
            if t > self.cfg.max_positions:
                raise ValueError(f"sequence of {t} tokens is longer than the {self.cfg.max_positions}-row position table")
            x = x + self.position_table(torch.arange(t, device=ids.device))
        extra = self.positional(t, ids.device)
        for layer in self.layers:
            x = layer(x, **extra)
        logits = self.norm(x) @ self.embed_tokens.weight.T  # (B, T, V)
        if targets is None:
            return logits
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def with_rope_scaling(model: DecoderLM, scaling: RopeScaling) -> DecoderLM:
    """Set the model's RoPE scaling in place (weights untouched) and return it."""
    if model.cfg.positions != "rope":
        raise ValueError(f"RoPE scaling needs a RoPE model, not {model.cfg.positions!r} positions")
    model.rope_scaling = scaling
    return model


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

