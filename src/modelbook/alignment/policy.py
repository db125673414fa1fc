"""Sampling from a causal LM and scoring completions: what every alignment method needs.

A completion is a (B, max_new) tensor of token ids after a (B, P) prompt, with a mask that is 1 on the
generated tokens up to and including the first end token and 0 on the padding after it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def token_logps(model, prompts: torch.Tensor, completions: torch.Tensor) -> torch.Tensor:
    """log π(c_t | prompt, c_<t) for every completion position: (B, max_new). `model(ids)` returns logits."""
    seq = torch.cat([prompts, completions], dim=1)
    logits = model(seq[:, :-1])[:, prompts.shape[1] - 1:]            # the positions that predict the completion
    return torch.gather(F.log_softmax(logits.float(), dim=-1), 2, completions.unsqueeze(-1)).squeeze(-1)


def sequence_logps(model, prompts, completions, mask) -> torch.Tensor:
    """Σ_t log π(c_t | ·) over the completion's real tokens: (B,)."""
    return (token_logps(model, prompts, completions) * mask).sum(1)


@torch.no_grad()
def generate(model, prompts: torch.Tensor, max_new: int, eos: int, pad: int, temperature: float = 1.0,
             generator: torch.Generator | None = None, greedy: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample (or greedily decode) max_new tokens; after a sequence's end token, pad. Returns (ids, mask)."""
    seq = prompts
    done = torch.zeros(len(prompts), dtype=torch.bool)
    out, mask = [], []
    for _ in range(max_new):
        logits = model(seq)[:, -1].float()
        if greedy:
            nxt = logits.argmax(-1)
        else:
            probs = F.softmax(logits / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
        mask.append((~done).float())
        out.append(nxt)
        done = done | (nxt == eos)
        seq = torch.cat([seq, nxt.unsqueeze(1)], dim=1)
        if done.all():
            break
    ids, m = torch.stack(out, 1), torch.stack(mask, 1)
    if ids.shape[1] < max_new:                                          # every sequence ended early
        fill = max_new - ids.shape[1]
        ids = torch.cat([ids, torch.full((len(ids), fill), pad)], 1)
        m = torch.cat([m, torch.zeros(len(m), fill)], 1)
    return ids, m
