"""Training KG embeddings: 1-N scoring or negative sampling, written out because the loss IS the method.

1-N scoring (Dettmers et al. 2018; PyKEEN's "LCWA"): take every (h, r) seen in training, score ALL N entities
as its tail in one matrix product, and push up the known tails, down the rest. Head prediction gets the same
treatment through (r, t) → all heads. Two losses:
    "bce": Σ_e BCE(σ(f(h, r, e)), y_e) with label smoothing y ← (1 − ε) y + ε/N        (ConvE)
    "ce":  −Σ_{t ∈ T(h,r)} log softmax_e f(h, r, e)_t / |T(h,r)|                       (1vsAll / KvsAll CE;
           Ruffinelli et al. ICLR 2020 found it the strongest default)

Negative sampling (PyKEEN's "sLCWA"): each training triple against k corruptions of its head or tail, drawn
uniformly; RotatE's self-adversarial loss with margin γ weights the hardest negatives most:
    L = −log σ(γ + f(pos)) − Σ_i p_i log σ(−f(neg_i) − γ),   p = softmax(α f(neg)) (no gradient through p)

Not core.train.fit: there is no (x, y) data loader here: an epoch iterates over (h, r) groups with multi-hot
targets, or over triples with freshly drawn negatives, and the lab is about exactly that choice.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from modelbook.kge.models import KGEModel


@dataclass(frozen=True)
class TrainConfig:
    mode: str = "1-n"
    """"1-n" (score all entities) or "negative-sampling" """
    loss: str = "ce"
    """1-n: "ce" or "bce"; negative sampling: "nssa" (self-adversarial) or "softplus" """
    n_epochs: int = 100
    batch_size: int = 128
    lr: float = 0.01
    weight_decay: float = 0.0
    label_smoothing: float = 0.1
    n_negatives: int = 32
    margin: float = 6.0
    adversarial_temperature: float = 1.0


def _groups(triples: np.ndarray, n_entities: int, key_cols: tuple[int, int], target_col: int):
    """Unique (key_a, key_b) pairs and their multi-hot targets over the N entities: ((G, 2) long, (G, N) float)."""
    keys, inverse = np.unique(triples[:, list(key_cols)], axis=0, return_inverse=True)
    targets = torch.zeros(len(keys), n_entities)
    targets[torch.from_numpy(inverse.reshape(-1)), torch.from_numpy(triples[:, target_col])] = 1.0
    return torch.from_numpy(keys), targets


def _one_n_loss(scores: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    if cfg.loss == "bce":
        smoothed = (1.0 - cfg.label_smoothing) * targets + cfg.label_smoothing / targets.size(1)
        return nn.functional.binary_cross_entropy_with_logits(scores, smoothed)
    if cfg.loss == "ce":
        log_p = scores.log_softmax(-1)
        return -((targets * log_p).sum(-1) / targets.sum(-1)).mean()
    raise ValueError(f"unknown 1-N loss {cfg.loss!r}: use 'ce' or 'bce'")


def train_one_n(model: KGEModel, triples: np.ndarray, cfg: TrainConfig, gen: torch.Generator,
                on_epoch: Callable[[int], None] | None = None) -> list[float]:
    """1-N training on both sides; returns the mean loss per epoch. on_epoch(epoch) runs after each epoch (1-based),
    e.g. to measure the model along the way (bench/kge.py: time to a target MRR)."""
    tail_keys, tail_targets = _groups(triples, model.n_entities, (0, 1), 2)    # (h, r) -> tails
    head_keys, head_targets = _groups(triples, model.n_entities, (1, 2), 0)    # (r, t) -> heads
    n_tail = len(tail_keys)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    losses = []
    for _ in range(cfg.n_epochs):
        model.train()
        order = torch.randperm(n_tail + len(head_keys), generator=gen)
        total, count = 0.0, 0
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            if len(idx) < 2:  # BatchNorm (ConvE) needs two examples
                continue
            tail_idx, head_idx = idx[idx < n_tail], idx[idx >= n_tail] - n_tail
            # -- the algorithm: score all entities, push known answers up --
            scores, targets = [], []
            if len(tail_idx):
                k = tail_keys[tail_idx]
                scores.append(model.score_t(k[:, 0], k[:, 1]))
                targets.append(tail_targets[tail_idx])
            if len(head_idx):
                k = head_keys[head_idx]
                scores.append(model.score_h(k[:, 0], k[:, 1]))
                targets.append(head_targets[head_idx])
            loss = _one_n_loss(torch.cat(scores), torch.cat(targets), cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            # -- bookkeeping --
            total += loss.item() * len(idx)
            count += len(idx)
        losses.append(total / max(count, 1))
        if on_epoch is not None:
            on_epoch(len(losses))
            model.train()
    model.eval()
    return losses


def train_negative_sampling(model: KGEModel, triples: np.ndarray, cfg: TrainConfig, gen: torch.Generator) -> list[float]:
    """sLCWA: each triple vs `n_negatives` uniform corruptions (half heads, half tails); returns loss per epoch."""
    t = torch.from_numpy(triples)
    N, K = model.n_entities, cfg.n_negatives
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    losses = []
    for _ in range(cfg.n_epochs):
        model.train()
        order = torch.randperm(len(t), generator=gen)
        total = 0.0
        for s in range(0, len(t), cfg.batch_size):
            h, r, o = t[order[s:s + cfg.batch_size]].unbind(1)
            B = len(h)
            if B < 2:
                continue
            # -- the algorithm: corrupt heads for half the batch, tails for the other half --
            corrupt_head = torch.arange(B) < B // 2
            negatives = torch.randint(0, N, (B, K), generator=gen)
            tail_scores = model.score_t(h, r)                                     # (B, N)
            head_scores = model.score_h(r, o)
            pos = tail_scores.gather(1, o[:, None]).squeeze(1)
            neg = torch.where(corrupt_head[:, None], head_scores.gather(1, negatives), tail_scores.gather(1, negatives))
            if cfg.loss == "nssa":
                weights = (cfg.adversarial_temperature * neg).softmax(-1).detach()
                loss = (-nn.functional.logsigmoid(cfg.margin + pos)
                        - (weights * nn.functional.logsigmoid(-neg - cfg.margin)).sum(-1)).mean()
            elif cfg.loss == "softplus":
                loss = (nn.functional.softplus(-pos) + nn.functional.softplus(neg).mean(-1)).mean()
            else:
                raise ValueError(f"unknown negative-sampling loss {cfg.loss!r}: use 'nssa' or 'softplus'")
            opt.zero_grad()
            loss.backward()
            opt.step()
            # -- bookkeeping --
            total += loss.item() * B
        losses.append(total / len(t))
    model.eval()
    return losses


def train(model: KGEModel, triples: np.ndarray, cfg: TrainConfig, gen: torch.Generator,
          on_epoch: Callable[[int], None] | None = None) -> list[float]:
    if cfg.mode == "1-n":
        return train_one_n(model, triples, cfg, gen, on_epoch)
    if on_epoch is not None:
        raise ValueError("on_epoch is only supported with 1-N training")
    if cfg.mode == "negative-sampling":
        return train_negative_sampling(model, triples, cfg, gen)
    raise ValueError(f"unknown training mode {cfg.mode!r}: use '1-n' or 'negative-sampling'")
