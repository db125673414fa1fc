"""Connectionist temporal classification (Graves et al. 2006) from scratch, and its decoders.

CTC lets a network that emits one distribution per frame learn from a transcript with no alignment: a path is
one label per frame, drawn from the vocabulary plus a blank; collapsing repeats and then dropping blanks maps a
path to a transcript. The loss is −log of the total probability of every path that collapses to the target,
summed by dynamic programming over the target with blanks interleaved (ε y1 ε y2 … ε, length 2L+1):

    α_t(s) = (α_{t−1}(s) + α_{t−1}(s−1) + [z_s ≠ ε and z_s ≠ z_{s−2}] α_{t−1}(s−2)) · p_t(z_s)

and −log p(y|x) = −log(α_T(2L) + α_T(2L−1)). Computed in log space, vectorised over the batch and over s.

Decoding: greedy (best label per frame, collapse) or prefix beam search (Hannun et al. 2014), which sums the
probability of every path that yields the same prefix, keeping for each prefix its probability of ending in a
blank and in a non-blank (needed to tell "a a" from "aa"). A language model joins at each new token: shallow
fusion, score = log p_ctc + α·log p_lm + β·|prefix|.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Callable

import numpy as np
import torch

NEG = -1e30


def ctc_loss(log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor,
             target_lengths: torch.Tensor, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> torch.Tensor:
    """Same arguments and result as torch.nn.functional.ctc_loss (targets padded (N, S), log_probs (T, N, C)).

    reduction "mean": each loss divided by its target length, then averaged (as torch); "sum"; "none"."""
    T, N, _ = log_probs.shape
    S = 2 * int(target_lengths.max()) + 1 if len(target_lengths) else 1
    ext = torch.full((N, S), blank, dtype=torch.long)  # ε y1 ε y2 ... ε
    L = targets.shape[1] if targets.dim() == 2 else 0
    ext[:, 1: 2 * L: 2] = targets[:, : (S - 1) // 2] if L else ext[:, 1:1]
    s_len = 2 * target_lengths + 1
    valid = torch.arange(S)[None, :] < s_len[:, None]
    # the skip from s−2 is allowed onto a label that differs from the label two back
    skip = torch.zeros(N, S, dtype=torch.bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    emit = log_probs.gather(2, ext[None].expand(T, N, S))  # (T, N, S): log p_t(z_s)
    neg = torch.tensor(NEG, dtype=log_probs.dtype)
    alpha = torch.full((N, S), NEG, dtype=log_probs.dtype)
    alpha[:, 0] = emit[0, :, 0]
    alpha[:, 1] = torch.where(target_lengths > 0, emit[0, :, 1], neg) if S > 1 else alpha[:, 0]
    alphas = [alpha]
    for t in range(1, T):
        a1 = torch.cat([torch.full((N, 1), NEG, dtype=alpha.dtype), alpha[:, :-1]], 1)
        a2 = torch.cat([torch.full((N, 2), NEG, dtype=alpha.dtype), alpha[:, :-2]], 1)
        a2 = torch.where(skip, a2, neg)
        alpha = torch.logsumexp(torch.stack([alpha, a1, a2]), 0) + emit[t]
        alpha = torch.where(valid, alpha, neg)
        alphas.append(alpha)
    final = torch.stack(alphas)[input_lengths - 1, torch.arange(N)]  # α at each sequence's own last frame
    last = final.gather(1, (s_len - 1)[:, None])[:, 0]
    before = final.gather(1, (s_len - 2).clamp(min=0)[:, None])[:, 0]
    before = torch.where(target_lengths > 0, before, neg)
    loss = -torch.logaddexp(last, before)
    if zero_infinity:  # no path fits (input shorter than the target needs): torch's option to ignore it
        loss = torch.where(loss > -NEG / 10, torch.zeros_like(loss), loss)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return (loss / target_lengths.clamp(min=1).to(loss.dtype)).mean()


def greedy(log_probs: np.ndarray, blank: int = 0) -> list[int]:
    """Best label per frame, repeats collapsed, blanks dropped. log_probs: (T, C)."""
    best = np.asarray(log_probs).argmax(1)
    out, prev = [], blank
    for b in best:
        if b != blank and b != prev:
            out.append(int(b))
        prev = b
    return out


def _lse(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    return a if b <= NEG else a + math.log1p(math.exp(b - a))


LM = Callable[[tuple[int, ...], int], float]  # (prefix, next token) -> log p(next | prefix)


def prefix_beam_search(log_probs: np.ndarray, beam: int = 8, blank: int = 0, lm: LM | None = None,
                       alpha: float = 0.0, beta: float = 0.0, prune: float = -12.0) -> list[int]:
    """CTC prefix beam search; with `lm`, shallow fusion: log p_ctc + alpha·log p_lm + beta·(tokens in prefix).

    Tokens whose frame log-probability is below `prune` are not tried at that frame (they cannot win)."""
    lp = np.asarray(log_probs, np.float64)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, NEG)}  # prefix -> (log p ending in ε, in non-ε)
    lm_score: dict[tuple[int, ...], float] = {(): 0.0}  # α·log p_lm(prefix), accumulated token by token

    for t in range(lp.shape[0]):
        frame = lp[t]
        candidates = [c for c in np.flatnonzero(frame > prune) if c != blank]
        beams_next: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [NEG, NEG])
        for prefix, (pb, pnb) in beams.items():
            p_all = _lse(pb, pnb)
            nb = beams_next[prefix]
            nb[0] = _lse(nb[0], p_all + frame[blank])  # stay, via a blank
            if prefix:
                nb[1] = _lse(nb[1], pnb + frame[prefix[-1]])  # stay, repeating the last label without a blank
            for c in candidates:
                c = int(c)
                new = prefix + (c,)
                if new not in lm_score:
                    lm_score[new] = lm_score[prefix] + (alpha * lm(prefix, c) if lm is not None else 0.0)
                nn = beams_next[new]
                # a repeat of the last label needs a blank between the two (from pb only)
                nn[1] = _lse(nn[1], (pb if prefix and c == prefix[-1] else p_all) + frame[c])
        ranked = sorted(beams_next, key=lambda p: -(_lse(*beams_next[p]) + lm_score[p] + beta * len(p)))
        beams = {p: tuple(beams_next[p]) for p in ranked[:beam]}
    # the end of the utterance: the LM's end-of-sentence probability joins the score
    def final(p):
        end = alpha * lm(p, -1) if lm is not None else 0.0
        return _lse(*beams[p]) + lm_score[p] + beta * len(p) + end
    return list(max(beams, key=final))
