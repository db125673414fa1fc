"""Speculative decoding (Leviathan et al. 2023; Chen et al. 2023): a cheap drafter proposes γ tokens, the target
scores all of them in ONE forward pass, and a rule keeps a prefix of them so that the output is the target's own.

    target cache holds every token but the last ("pending");   drafts d_1..d_γ from the drafter
    logits = target([pending, d_1, ..., d_γ])                 row j: the target's next-token distribution after d_j
    greedy:   keep d_{j+1} while argmax(row j) = d_{j+1}; then emit argmax(row n)      (n = drafts kept)
    sampling: keep d_j with probability min(1, p_j(d_j) / q_j(d_j)); at the first rejection draw from
              norm(max(0, p_j − q_j)); if all γ are kept, draw one more from p_γ.  The emitted tokens are then
              distributed exactly as the target's (Leviathan et al., Appendix A.1).
    target cache: truncated back to the kept tokens; the pending token becomes the bonus token.

Each round costs one target pass and yields n + 1 ≥ 1 tokens, so the output never changes, only the work.

Drafters:
  - LayerDraft: the target's own first layers + its final norm and head (self-speculative, an early exit as in
    LayerSkip, Elhoushi et al. 2024), with its own KV cache, rolled back like the target's.
  - PromptLookup: the tokens that followed the last earlier occurrence of the sequence's trailing n-gram
    (Saxena 2023, transformers' `prompt_lookup_num_tokens`): free, and good when the answer copies the prompt.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from modelbook.inference.engine import PackedLlama


@dataclass
class SpecStats:
    tokens: list[int] = field(default_factory=list)
    target_calls: int = 0
    drafted: int = 0
    accepted: int = 0
    draft_s: float = 0.0
    seconds: float = 0.0

    @property
    def acceptance(self) -> float:
        return self.accepted / self.drafted if self.drafted else float("nan")

    @property
    def tokens_per_call(self) -> float:
        return len(self.tokens) / self.target_calls


def accept_greedy(logits: torch.Tensor, drafts: list[int]) -> tuple[int, int]:
    """(drafts kept, next token) from the target's (γ + 1, V) logits over [pending, d_1..d_γ]."""
    best = logits.argmax(-1).tolist()
    n = 0
    while n < len(drafts) and best[n] == drafts[n]:
        n += 1
    return n, best[n]


def _draw(p, u: float) -> int:
    """Inverse-CDF draw from the probability vector p (numpy) with the uniform u."""
    return int(min(np.searchsorted(np.cumsum(p), u * p.sum(), side="right"), len(p) - 1))


def accept_sampled(p, q, drafts: list[int], rng: np.random.Generator) -> tuple[int, int]:
    """(drafts kept, next token): the speculative sampling rule. p (γ + 1, V) target probabilities over
    [pending, d_1..d_γ], q (γ, V) the drafter's probabilities each d_j was drawn from (numpy arrays)."""
    for j, d in enumerate(drafts):
        if rng.random() * q[j, d] < p[j, d]:  # r < min(1, p/q) without dividing by a zero q
            continue
        residual = np.clip(p[j] - q[j], 0, None)
        return j, _draw(residual, rng.random())
    return len(drafts), _draw(p[len(drafts)], rng.random())


class LayerDraft:
    """Draft with the target's first `n_layers` layers (shared weights, own cache)."""

    def __init__(self, model, n_layers: int, capacity: int):
        self.engine = PackedLlama(model, n_layers)
        self.capacity = capacity

    def start(self, prompt: list[int]) -> None:
        self.cache = self.engine.new_cache(self.capacity)

    def propose(self, seq: list[int], gamma: int, temperature: float = 0.0, gen=None):
        """γ drafted tokens and, when sampling, the (γ, V) probabilities they were drawn from."""
        self.cache.truncate(len(seq) - 1)  # forget rejected drafts; then catch up on what it has not seen
        logits = self.engine.forward([seq[self.cache.length:]], [self.cache])[0]
        drafts, probs = [], []
        for j in range(gamma):
            if temperature > 0:
                pr = torch.softmax(logits.double() / temperature, -1).numpy()
                probs.append(pr)
                drafts.append(_draw(pr, gen.random()))
            else:
                drafts.append(int(logits.argmax()))
            if j < gamma - 1:
                logits = self.engine.forward([[drafts[-1]]], [self.cache])[0]
        return drafts, (np.stack(probs) if probs else None)


class PromptLookup:
    """Draft by copying: find the trailing n-gram (n = max_ngram .. 1) earlier in the sequence, propose what followed."""

    def __init__(self, max_ngram: int = 3):
        self.max_ngram = max_ngram

    def start(self, prompt: list[int]) -> None:
        pass

    def propose(self, seq: list[int], gamma: int, temperature: float = 0.0, gen=None):
        for n in range(min(self.max_ngram, len(seq) - 1), 0, -1):
            tail = seq[-n:]
            for start in range(len(seq) - n - 1, -1, -1):  # the latest earlier occurrence
                if seq[start:start + n] == tail:
                    follow = seq[start + n:start + n + gamma]
                    if follow:
                        return follow, None
        return [], None


def speculative_generate(target: PackedLlama, drafter, prompt: list[int], max_new_tokens: int, gamma: int,
                         eos: int | None = None, temperature: float = 0.0, gen: np.random.Generator | None = None,
                         accept=accept_sampled) -> SpecStats:
    """Generate with drafts verified by the target. temperature 0: greedy (the target's argmax path)."""
    t0 = time.perf_counter()
    stats = SpecStats()
    cache = target.new_cache(len(prompt) + max_new_tokens + gamma + 1)
    drafter.start(prompt)
    logits = target.forward([prompt[:-1]], [cache])[0] if len(prompt) > 1 else None
    seq = list(prompt)
    while len(stats.tokens) < max_new_tokens:
        td = time.perf_counter()
        drafts, q = drafter.propose(seq, min(gamma, max_new_tokens - len(stats.tokens) - 1), temperature, gen)
        stats.draft_s += time.perf_counter() - td
        logits = target.forward([[seq[-1]] + drafts], [cache], all_logits=True)[0]
        stats.target_calls += 1
        if temperature > 0:
            p = torch.softmax(logits.double() / temperature, -1).numpy()
            if q is None:  # a deterministic drafter (prompt lookup): its q is one-hot on each draft
                q = np.eye(p.shape[-1])[drafts]
            n, nxt = accept(p, q, drafts, gen)
        else:
            n, nxt = accept_greedy(logits, drafts)
        stats.drafted += len(drafts)
        stats.accepted += n
        new = drafts[:n] + [nxt]
        cache.truncate(len(seq) + n)  # keep the pending token and the kept drafts; nxt is the new pending one
        for y in new:
            seq.append(y)
            stats.tokens.append(y)
            if y == eos or len(stats.tokens) == max_new_tokens:
                stats.seconds = time.perf_counter() - t0
                return stats
    stats.seconds = time.perf_counter() - t0
    return stats


def hf_layer_draft(model, n_layers: int):
    """transformers' model cut to its first n_layers (same weights): the assistant for transformers' assisted
    generation that matches LayerDraft."""
    import copy

    from transformers import LlamaForCausalLM

    cfg = copy.deepcopy(model.config)
    cfg.num_hidden_layers = n_layers
    if getattr(cfg, "layer_types", None):
        cfg.layer_types = cfg.layer_types[:n_layers]
    draft = LlamaForCausalLM(cfg).eval()
    draft.load_state_dict(model.state_dict(), strict=False)
    draft.tie_weights()
    return draft


def sample_first_tokens(p_fn, q_fn, prompt: tuple, m: int, gamma: int, n_samples: int, gen: np.random.Generator,
                        accept=accept_sampled) -> dict[tuple, int]:
    """Counts of the first m tokens over n_samples speculative-sampling runs, with next-token distributions given
    as functions of the prefix returning numpy vectors (memoise them: on a tiny model every prefix recurs). For the statistical test."""
    counts: dict[tuple, int] = {}
    for _ in range(n_samples):
        seq = list(prompt)
        while len(seq) - len(prompt) < m:
            drafts, qs = [], []
            for _j in range(gamma):
                qj = q_fn(tuple(seq + drafts))
                qs.append(qj)
                drafts.append(_draw(qj, gen.random()))
            p = np.stack([p_fn(tuple(seq + drafts[:j])) for j in range(gamma + 1)])
            n, nxt = accept(p, np.stack(qs), drafts, gen)
            seq += drafts[:n] + [nxt]
        key = tuple(seq[len(prompt):len(prompt) + m])
        counts[key] = counts.get(key, 0) + 1
    return counts


def next_token_table(model, prompt: tuple, V: int, depth: int) -> dict[tuple, np.ndarray]:
    """Next-token probabilities (float64) after prompt + every continuation of up to `depth` tokens."""
    table = {}
    for d in range(depth + 1):
        tails = list(itertools.product(range(V), repeat=d))
        ids = torch.tensor([prompt + t for t in tails])
        with torch.inference_mode():
            pr = torch.softmax(model(ids).logits[:, -1].double(), -1).numpy()
        table.update({prompt + t: pr[i] for i, t in enumerate(tails)})
    return table
