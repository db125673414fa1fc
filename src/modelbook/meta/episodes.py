"""N-way K-shot episodes drawn from a class-indexed image tensor (C classes, M examples each, H, W)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Episodes:
    """A batch of E episodes. Labels are 0..N−1 inside each episode (classes relabelled at random)."""

    support: torch.Tensor        # (E, N*K, 1, H, W), ordered class by class
    support_labels: torch.Tensor # (E, N*K)
    query: torch.Tensor          # (E, N*Q, 1, H, W)
    query_labels: torch.Tensor   # (E, N*Q)
    n_way: int
    k_shot: int


def sample(data: torch.Tensor, n_episodes: int, n_way: int, k_shot: int, n_query: int, gen: torch.Generator) -> Episodes:
    """Each episode: N classes without replacement, K + Q distinct examples of each."""
    C, M = data.shape[:2]
    if n_way > C or k_shot + n_query > M:
        raise ValueError(f"{n_way}-way {k_shot}-shot with {n_query} queries needs ≥ {n_way} classes and "
                         f"≥ {k_shot + n_query} examples each; the set has {C} and {M}")
    classes = torch.rand(n_episodes, C, generator=gen).argsort(1)[:, :n_way]            # (E, N)
    examples = torch.rand(n_episodes, n_way, M, generator=gen).argsort(2)[..., :k_shot + n_query]
    imgs = data[classes[..., None], examples]                                            # (E, N, K+Q, H, W)
    labels = torch.arange(n_way).view(1, n_way, 1).expand(n_episodes, n_way, k_shot + n_query)
    H, W = data.shape[2:]
    s = imgs[:, :, :k_shot].reshape(n_episodes, n_way * k_shot, 1, H, W)
    q = imgs[:, :, k_shot:].reshape(n_episodes, n_way * n_query, 1, H, W)
    return Episodes(s, labels[:, :, :k_shot].reshape(n_episodes, -1), q,
                    labels[:, :, k_shot:].reshape(n_episodes, -1), n_way, k_shot)


def split_classes(n_classes: int, n_test: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint (train, test) class indices: the test classes are never seen in meta-training."""
    perm = torch.randperm(n_classes, generator=gen)
    return perm[n_test:].sort().values, perm[:n_test].sort().values
