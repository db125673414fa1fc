"""A sparse mixture-of-experts feed-forward layer: router, top-k gates, load balancing, capacity, from scratch.

For each token x (a row of the (N, d) hidden states) the router scores E experts and only k of them run:

    s = softmax(x Wᵣᵀ)            (Shazeer et al. 2017; Switch, Fedus et al. 2021; Mixtral, Jiang et al. 2024)
      or sigmoid(x Wᵣᵀ)           (DeepSeek-V3: per-expert affinities that do not compete)
    chosen = top-k of (s + b)     b: a per-expert bias used for selection only (DeepSeek-V3's balancing)
    g_i = s_i / Σ_{j∈chosen} s_j  renormalised over the chosen experts (Mixtral, V3); Switch (k = 1) keeps g = s_i,
                                  else the one gate would be 1 and the router would get no gradient
    y = Σ_{i∈chosen} g_i · expert_i(x),   expert_i(x) = W₂ⁱ (silu(W_gⁱ x) ⊙ W_uⁱ x)     (SwiGLU, as Mixtral's)

Balancing. Left alone, a router tends to send most tokens to the experts that already learned most (they get
more gradient, so they get better: router collapse). Two remedies:
  * Switch's auxiliary loss  L_aux = α · E · Σ_i f_i · P_i   (Fedus et al. 2021, eq. 4–6): f_i the fraction of
    tokens sent to expert i (not differentiable), P_i the mean router probability of i (differentiable). It is
    smallest when both are uniform. f sums to k here, as in transformers' load_balancing_loss_func.
  * DeepSeek-V3's auxiliary-loss-free bias (Wang et al. 2024; DeepSeek-AI 2024 §2.1.2): after each step,
    b_i ← b_i + γ · sign(mean load − load_i). An overloaded expert becomes less likely to be chosen; the gate
    weights still come from s alone, so the bias steers traffic without entering the model's output or its loss.

Capacity (Switch §2.2; GShard, Lepikhin et al. 2021). With a fixed buffer per expert, C = ⌈cf · N · k / E⌉, an
expert takes at most C token assignments; the rest are dropped (the token passes on through the residual only).
Priority: every token's first choice before any second choice, then token order (GShard's rule). capacity_factor
None means no buffer and no dropping (Mixtral and most 2024+ MoEs are "dropless").

    route(logits, ...)                    scores, chosen experts, gate weights
    switch_loss(scores, experts, E)       Switch's f·P·E balancing loss
    capacity_keep(experts, E, C)          which assignments fit their expert's buffer (and how many were dropped)
    load_entropy(counts)                  H(load) / log E: 1 = perfectly even, 0 = one expert takes everything
    SparseMoE                             the layer; .stats after each forward; .update_bias(γ); .load_mixtral(block)
    MoEBlock, moe_gpt(...)                nn/gpt.py's block and model with the MLP replaced by a SparseMoE
    mixtral_params(...)                   total and active parameters of a Mixtral-shaped model (8x7B: 47B / 13B)
    train_flops(...)                      matmul FLOPs of one training step of moe_gpt (6 · active params · tokens + attention)

Cross-checks: tests/nn/test_moe.py (= transformers' MixtralSparseMoeBlock with the same weights; switch_loss =
transformers' load_balancing_loss_func and a per-token loop; capacity dropping = a hand-worked case; the bias moves
selection, not gate weights; train_flops = torch.utils.flop_counter).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from modelbook.core.errors import ModelbookError
from modelbook.core.train import Callback
from modelbook.nn.gpt import GPT, Block, GPTConfig

SCORES = ("softmax", "sigmoid")


@dataclass(frozen=True)
class MoEConfig:
    d_model: int
    d_expert: int
    """hidden width F of each SwiGLU expert"""
    n_experts: int = 8
    top_k: int = 2
    score: str = "softmax"
    """'softmax' (Switch, Mixtral) or 'sigmoid' (DeepSeek-V3)"""
    normalize: bool = True
    """renormalise the k chosen gates to sum to 1 (Mixtral, V3); False keeps the raw scores (Switch, k = 1)"""
    capacity_factor: float | None = None
    """buffer per expert = ⌈cf · N · k / E⌉ assignments; None: no buffer, nothing dropped"""

    def __post_init__(self):
        if self.score not in SCORES:
            raise ModelbookError(f"MoE score must be one of {SCORES}, got {self.score!r}")
        if not 1 <= self.top_k <= self.n_experts:
            raise ModelbookError(f"MoE top_k must be between 1 and n_experts ({self.n_experts}), got {self.top_k}")
        if self.capacity_factor is not None and self.capacity_factor <= 0:
            raise ModelbookError(f"MoE capacity_factor must be positive (or None), got {self.capacity_factor}")


@dataclass
class Routing:
    scores: torch.Tensor
    """(N, E) softmax probabilities or sigmoid affinities, float32"""
    experts: torch.Tensor
    """(N, k) chosen experts, best first"""
    weights: torch.Tensor
    """(N, k) gate weights of the chosen experts"""


@dataclass
class MoEStats:
    """What the last forward of a SparseMoE routed (kept for the loss, the bias update and the lab's measurements)."""

    aux_loss: torch.Tensor
    """Switch's E · Σ f·P of this forward (differentiable through P)"""
    counts: torch.Tensor
    """(E,) assignments each expert was chosen for, before capacity"""
    dropped: int
    """assignments over capacity (0 when dropless)"""
    n_assignments: int
    """N · k"""


def route(logits: torch.Tensor, top_k: int, score: str = "softmax", normalize: bool = True,
          bias: torch.Tensor | None = None) -> Routing:
    """Scores, the top-k experts of (scores + bias), and their gate weights taken from the scores without the bias."""
    scores = logits.float().softmax(-1) if score == "softmax" else logits.float().sigmoid()
    select = scores if bias is None else scores + bias
    experts = select.topk(top_k, dim=-1).indices
    weights = scores.gather(-1, experts)
    if normalize:
        weights = weights / weights.sum(-1, keepdim=True)
    return Routing(scores, experts, weights)


def expert_counts(experts: torch.Tensor, n_experts: int) -> torch.Tensor:
    """(E,) how many of the (N, k) assignments went to each expert."""
    return torch.bincount(experts.flatten(), minlength=n_experts)


def switch_loss(scores: torch.Tensor, experts: torch.Tensor, n_experts: int) -> torch.Tensor:
    """E · Σ_i f_i · P_i with f_i = (assignments to i) / N (sums to k) and P_i = mean_x scores_i(x)."""
    f = expert_counts(experts, n_experts).to(scores.dtype) / scores.shape[0]
    return n_experts * (f * scores.mean(0)).sum()


def capacity(n_tokens: int, top_k: int, n_experts: int, factor: float) -> int:
    """Assignments one expert's buffer holds: ⌈factor · N · k / E⌉ (Switch §2.2, eq. 3)."""
    return math.ceil(factor * n_tokens * top_k / n_experts)


def capacity_keep(experts: torch.Tensor, n_experts: int, cap: int) -> torch.Tensor:
    """(N, k) bool: True where the assignment fits its expert's buffer of `cap`. Queue order: all first choices in
    token order, then all second choices, and so on (GShard's priority to the top-1 choice)."""
    by_rank = experts.t().flatten()                                          # (k·N,) rank-major: first choices first
    one_hot = F.one_hot(by_rank, n_experts)
    position = (one_hot.cumsum(0) * one_hot).sum(-1) - 1                     # place in its expert's queue
    return (position < cap).view(experts.shape[1], experts.shape[0]).t()


def load_entropy(counts: torch.Tensor) -> float:
    """Normalised entropy of the load: H(counts / Σ counts) / log E, in [0, 1]."""
    p = counts.double() / counts.sum()
    h = -(p[p > 0] * p[p > 0].log()).sum()
    return float(h / math.log(len(counts)))


def update_bias(bias: torch.Tensor, counts: torch.Tensor, gamma: float) -> None:
    """DeepSeek-V3's step, in place: b_i += γ · sign(mean load − load_i) (overloaded experts lose, idle ones gain)."""
    bias += gamma * torch.sign(counts.float().mean() - counts.float())


class SwiGLUExperts(nn.Module):
    """E SwiGLU experts as two stacked tensors, the layout of transformers' MixtralExperts:
    gate_up (E, 2F, d) with the gate rows first, down (E, d, F)."""

    def __init__(self, n_experts: int, d_model: int, d_expert: int):
        super().__init__()
        self.gate_up = nn.Parameter(torch.empty(n_experts, 2 * d_expert, d_model))
        self.down = nn.Parameter(torch.empty(n_experts, d_model, d_expert))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in (self.gate_up, self.down):   # nn.Linear's default init, expert by expert (fan_in = the last dim)
            bound = 1 / math.sqrt(w.shape[-1])
            nn.init.uniform_(w, -bound, bound)

    def forward(self, x: torch.Tensor, experts: torch.Tensor, weights: torch.Tensor, keep: torch.Tensor | None = None):
        """x (N, d); experts, weights, keep (N, k) -> Σ over kept assignments of weight · expert(x), (N, d)."""
        y = torch.zeros_like(x)
        for e in range(self.gate_up.shape[0]):
            mask = experts == e if keep is None else (experts == e) & keep
            token, slot = mask.nonzero(as_tuple=True)
            if len(token) == 0:
                continue
            gate, up = F.linear(x[token], self.gate_up[e]).chunk(2, dim=-1)
            out = F.linear(F.silu(gate) * up, self.down[e])
            y.index_add_(0, token, out * weights[token, slot, None].to(x.dtype))
        return y


class SparseMoE(nn.Module):
    """Router + E experts; forward keeps `.stats` (MoEStats) of what it routed."""

    def __init__(self, cfg: MoEConfig):
        super().__init__()
        self.cfg = cfg
        self.router = nn.Linear(cfg.d_model, cfg.n_experts, bias=False)
        self.experts = SwiGLUExperts(cfg.n_experts, cfg.d_model, cfg.d_expert)
        self.register_buffer("bias", torch.zeros(cfg.n_experts))   # DeepSeek-V3's selection bias (stays 0 unless updated)
        self.stats: MoEStats | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        c = self.cfg
        r = route(self.router(x), c.top_k, c.score, c.normalize, self.bias)
        keep = None
        if c.capacity_factor is not None:
            keep = capacity_keep(r.experts, c.n_experts, capacity(len(x), c.top_k, c.n_experts, c.capacity_factor))
        self.stats = MoEStats(switch_loss(r.scores, r.experts, c.n_experts), expert_counts(r.experts, c.n_experts).detach(),
                              0 if keep is None else int((~keep).sum()), r.experts.numel())
        return self.experts(x, r.experts, r.weights, keep).reshape(shape)

    @torch.no_grad()
    def update_bias(self, gamma: float) -> None:
        """DeepSeek-V3's auxiliary-loss-free step from the last forward's load (call once per training step)."""
        update_bias(self.bias, self.stats.counts, gamma)

    @torch.no_grad()
    def load_mixtral(self, block) -> "SparseMoE":
        """Copy the weights of a transformers MixtralSparseMoeBlock (router `gate.weight`, experts `gate_up_proj`,
        `down_proj`): the same tensors, laid out the same way."""
        self.router.weight.copy_(block.gate.weight)
        self.experts.gate_up.copy_(block.experts.gate_up_proj)
        self.experts.down.copy_(block.experts.down_proj)
        return self


class MoEBlock(Block):
    """nn/gpt.py's pre-LN block with its MLP (fc1, GELU, fc2) replaced by a SparseMoE; attention is Block's."""

    def __init__(self, cfg: GPTConfig, moe: MoEConfig):
        super().__init__(cfg)
        del self.fc1, self.fc2
        self.moe = SparseMoE(moe)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.moe(x)


def moe_gpt(cfg: GPTConfig, moe: MoEConfig) -> GPT:
    """nn/gpt.py's GPT whose every block's MLP is a SparseMoE. A dense SwiGLU baseline is moe_gpt with one expert
    (the router's softmax over one expert is 1: every token runs it at gate 1)."""
    if moe.d_model != cfg.d_model:
        raise ModelbookError(f"MoE d_model {moe.d_model} differs from the GPT's {cfg.d_model}")
    model = GPT(cfg)
    model.blocks = nn.ModuleList(MoEBlock(cfg, moe) for _ in range(cfg.n_layer))
    return model


def moe_layers(model: nn.Module) -> list[SparseMoE]:
    return [m for m in model.modules() if isinstance(m, SparseMoE)]


def aux_loss(model: nn.Module) -> torch.Tensor:
    """Switch's balancing loss of the last forward, averaged over the MoE layers (add α × this to the LM loss)."""
    layers = moe_layers(model)
    return sum(m.stats.aux_loss for m in layers) / len(layers)


def active_params(cfg: GPTConfig, moe: MoEConfig) -> dict[str, int]:
    """Parameters of moe_gpt: all of them, and those one token uses (embeddings count once: a lookup is not a product)."""
    d, L, V = cfg.d_model, cfg.n_layer, cfg.vocab_size
    attn = 4 * d * d + 4 * d + 4 * d                                  # qkv + proj weights and biases, two LayerNorms
    expert = 3 * d * moe.d_expert
    router = d * moe.n_experts
    shared = V * d + cfg.block_size * d + 2 * d + d * V               # embeddings, final norm, lm_head
    return {"total": shared + L * (attn + router + moe.n_experts * expert),
            "active": shared + L * (attn + router + moe.top_k * expert)}


def mixtral_params(hidden: int, intermediate: int, layers: int, heads: int, kv_heads: int, vocab: int, experts: int,
                   top_k: int) -> dict[str, int]:
    """Total and per-token active parameters of a Mixtral-shaped model (grouped-query attention, E SwiGLU experts
    per layer, RMSNorms, untied embeddings): the experts are the only part a token uses k of E."""
    head_dim = hidden // heads
    attn = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim     # q, o  and  k, v
    expert = 3 * hidden * intermediate
    shared = layers * (attn + hidden * experts + 2 * hidden) + hidden + 2 * vocab * hidden
    return {"total": shared + layers * experts * expert, "active": shared + layers * top_k * expert}


def train_flops(cfg: GPTConfig, moe: MoEConfig, batch: int, seq: int) -> dict[str, int]:
    """Matmul FLOPs of one forward + backward of moe_gpt on batch × seq tokens, nothing dropped (3 × the forward):
    per token and layer 2·4d² (qkv, proj) + 2·dE (router) + k · 2·3dF (the chosen experts), plus 2·dV (lm_head),
    plus attention's Q·Kᵀ and P·V over the full T×T square (the 'math' path computes it all before masking)."""
    d, L, N = cfg.d_model, cfg.n_layer, batch * seq
    per_token = L * (2 * 4 * d * d + 2 * d * moe.n_experts + moe.top_k * 2 * 3 * d * moe.d_expert) + 2 * d * cfg.vocab_size
    attention = L * batch * 2 * 2 * seq * seq * d
    return {"linear": 3 * per_token * N, "attention": 3 * attention, "total": 3 * (per_token * N + attention)}


# -- training helpers: DeepSeek-V3's bias step as a fit() callback, paired inits, loads, FLOPs -------------
class BiasUpdate(Callback):
    """DeepSeek-V3's step after every optimizer step: every MoE layer's selection bias follows its last load."""

    def __init__(self, gamma: float):
        self.gamma = gamma

    def on_step_end(self, state, loss, grad_norm) -> None:
        for layer in moe_layers(state.model):
            layer.update_bias(self.gamma)


def seeded_init(model, stream: int, moe_offset: int) -> None:
    """Initialise from `stream`: everything outside the MoE layers first (embeddings, attention, norms, head), then the
    routers and experts from stream + moe_offset. Models that differ only in their MoE layers (a dense baseline is one expert)
    then start from the same attention and embedding weights: common random numbers, so paired differences measure
    the MoE layers and not the luck of the rest of the init."""
    inside = {id(m) for layer in moe_layers(model) for m in layer.modules()}
    torch.manual_seed(stream)
    for m in model.modules():
        if hasattr(m, "reset_parameters") and id(m) not in inside:
            m.reset_parameters()
    torch.manual_seed(stream + moe_offset)
    for layer in moe_layers(model):
        for m in layer.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()


@torch.no_grad()
def routed_loads(model, val: torch.Tensor, block: int) -> list[torch.Tensor]:
    """Each MoE layer's expert counts over the whole validation text in one forward."""
    model.eval()
    n = len(val) // block
    model(val[:n * block].view(n, block))
    return [layer.stats.counts.clone() for layer in moe_layers(model)]


def count_train_flops(model, ids: torch.Tensor) -> int:
    """torch.utils.flop_counter's count of one forward + backward of a moe_gpt on ids (also the targets)."""
    from modelbook.scaling.flops import counted_flops

    return counted_flops(lambda: model(ids, ids).backward())
