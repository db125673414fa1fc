"""What a decoding rule does to the next-token logits before a token is picked.

Each function maps logits (B, V) to logits (B, V); a token that may not be chosen gets −inf, so the softmax
over the survivors renormalises them automatically: p'_i = p_i / Σ_{j kept} p_j.

  repetition_penalty   CTRL (Keskar et al. 2019): a token already in the sequence has its logit divided by θ
                       when positive, multiplied by θ when negative (θ > 1 lowers it either way).
  temperature          z / T: T < 1 sharpens, T > 1 flattens; T → 0 is greedy.
  top_k                keep the k largest logits (ties with the k-th are kept, as transformers does).
  top_p (nucleus)      keep the smallest set of tokens, most probable first, whose probability reaches p
                       (Holtzman et al. 2020): token i (sorted) is kept iff the mass strictly before it is < p.
  min_p                keep tokens with p_i ≥ p_min · max_j p_j (Nguyen et al. 2024).

The usual order, and the one `process` applies: penalty, temperature, then truncation (top-k, top-p,
min-p), as transformers' `generate` does. Truncation after temperature matters: top-p at T = 2 keeps far
more tokens than at T = 0.7.

Cross-checks: tests/decoding/test_processors.py, each function against transformers' LogitsProcessor of the
same name on random logits (hypothesis), plus the properties: kept mass ≥ p and minimal, renormalisation.
"""
from __future__ import annotations

import torch

NEG_INF = float("-inf")


def repetition_penalty(logits: torch.Tensor, previous: torch.Tensor, theta: float) -> torch.Tensor:
    """logits (B, V), previous (B, S) token ids already in each sequence (prompt included)."""
    if theta == 1.0 or previous.numel() == 0:
        return logits
    seen = logits.gather(1, previous)  # (B, S)
    penalised = torch.where(seen > 0, seen / theta, seen * theta)
    return logits.scatter(1, previous, penalised)


def temperature(logits: torch.Tensor, t: float) -> torch.Tensor:
    if t <= 0:
        raise ValueError(f"temperature must be > 0 (use greedy decoding for T → 0), got {t}")
    return logits / t


def top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    if k <= 0 or k >= logits.size(-1):
        return logits
    kth = logits.topk(k, dim=-1).values[..., -1:]  # (B, 1)
    return logits.masked_fill(logits < kth, NEG_INF)


def top_p(logits: torch.Tensor, p: float, min_keep: int = 1) -> torch.Tensor:
    if p >= 1.0:
        return logits
    sorted_logits, order = logits.sort(dim=-1, descending=True)  # (B, V)
    probs = sorted_logits.softmax(-1)
    mass_before = probs.cumsum(-1) - probs  # probability of the tokens ranked above each token
    drop_sorted = mass_before >= p
    drop_sorted[..., :min_keep] = False
    drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, NEG_INF)


def min_p(logits: torch.Tensor, p_min: float) -> torch.Tensor:
    if p_min <= 0:
        return logits
    probs = logits.softmax(-1)
    return logits.masked_fill(probs < p_min * probs.amax(-1, keepdim=True), NEG_INF)


def process(logits: torch.Tensor, previous: torch.Tensor, *, penalty: float = 1.0, t: float = 1.0, k: int = 0,
            p: float = 1.0, p_min: float = 0.0) -> torch.Tensor:
    """All of the above in the usual order; each is a no-op at its neutral value."""
    logits = repetition_penalty(logits, previous, penalty)
    if t != 1.0:
        logits = temperature(logits, t)
    return min_p(top_p(top_k(logits, k), p), p_min)


def sample(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row, drawn from softmax(logits): (B, V) -> (B,)."""
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)


def entropy(logits: torch.Tensor, t: float = 1.0) -> torch.Tensor:
    """Entropy in nats of softmax(logits / t) over the last dimension: (..., V) -> (...).
    Probabilities that underflow to zero contribute 0 (0 · log 0 = 0)."""
    q = (logits / t).softmax(-1)
    return -(q * q.clamp_min(1e-300).log()).sum(-1)


def empirical_total_variation(draws: torch.Tensor, target: torch.Tensor) -> float:
    """Total-variation distance ½ Σ_i |f_i − q_i| between the frequencies f of the token indices in `draws`
    (n,) and the distribution `target` (m,) they were drawn from; an index never drawn counts f_i = 0."""
    empirical = torch.bincount(draws, minlength=target.numel()).double() / draws.numel()
    return 0.5 * float((empirical - target).abs().sum())
