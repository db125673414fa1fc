"""Federated averaging (McMahan et al. 2017, Algorithm 1) with simulated clients, IID and non-IID splits.

    server: w ← init
    each round t:  S ← a random fraction C of the K clients
                   each client k ∈ S (in parallel):  w_k ← w;  for E local epochs, for each batch b of B of its
                                                     own n_k examples: w_k ← w_k − η ∇ℓ(w_k; b)
                   w ← Σ_{k∈S} (n_k / n_S) · w_k            (n_S = Σ_{k∈S} n_k)

Only weights travel; raw examples stay on the clients. With E = 1 and one batch per client this is FedSGD;
more local work per round trades communication for "client drift": on non-IID data each client's optimum
differs from the global one and the average of their drifted weights converges more slowly or to a worse point
(Zhao et al. 2018; Li et al. 2020, FedProx; Karimireddy et al. 2020, SCAFFOLD).

Non-IID splits follow Hsu, Qi & Brown 2019: for every class, draw client proportions p ~ Dirichlet(α·1_K) and
deal that class's examples out accordingly. α → ∞ is IID; α = 0.1 gives most clients only one or two classes.

The aggregation is a parameter, so the same loop runs with the plain weighted mean or with secure aggregation
(secure_agg.py), where the server only ever sees the sum. The loop is written out (STYLE.md C8): rounds over
clients are the lesson.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from torch import nn


def iid_split(n: int, n_clients: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle and deal the n example indices into n_clients nearly equal shards."""
    return [np.sort(s) for s in np.array_split(rng.permutation(n), n_clients)]


def dirichlet_split(labels: np.ndarray, n_clients: int, alpha: float, rng: np.random.Generator,
                    min_size: int = 10) -> list[np.ndarray]:
    """Per class, client shares ~ Dirichlet(α); redrawn until every client holds at least min_size examples."""
    labels = np.asarray(labels)
    for _ in range(100):
        shards: list[list[int]] = [[] for _ in range(n_clients)]
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            p = rng.dirichlet(np.full(n_clients, alpha))
            cuts = (np.cumsum(p)[:-1] * len(idx)).astype(int)
            for k, part in enumerate(np.split(idx, cuts)):
                shards[k].extend(part.tolist())
        if min(len(s) for s in shards) >= min_size:
            return [np.sort(np.array(s, dtype=np.int64)) for s in shards]
    raise ValueError(f"could not give each of {n_clients} clients {min_size} examples with alpha={alpha}")


def label_skew(shards: list[np.ndarray], labels: np.ndarray, n_classes: int) -> float:
    """Mean total-variation distance between each client's label distribution and the global one (0 = IID)."""
    glob = np.bincount(labels, minlength=n_classes) / len(labels)
    tv = [0.5 * np.abs(np.bincount(labels[s], minlength=n_classes) / len(s) - glob).sum() for s in shards]
    return float(np.mean(tv))


def flat_params(model: nn.Module) -> torch.Tensor:
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()


def set_flat_params(model: nn.Module, vector: torch.Tensor) -> None:
    torch.nn.utils.vector_to_parameters(vector, model.parameters())


def local_update(model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_epochs: int, batch_size: int, lr: float,
                 generator: torch.Generator) -> torch.Tensor:
    """ClientUpdate: E epochs of minibatch SGD on the client's own data; returns the new flat weights."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for _ in range(n_epochs):
        for idx in torch.randperm(len(x), generator=generator).split(batch_size):
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return flat_params(model)


def weighted_mean(selected: np.ndarray, vectors: list[torch.Tensor], weights: list[float]) -> torch.Tensor:
    """The plain FedAvg aggregation Σ_k (n_k / Σn) · w_k, computed by a server that sees every w_k
    (`selected`, the clients' indices, is not needed here; secure aggregation uses it)."""
    w = torch.tensor(weights, dtype=vectors[0].dtype) / sum(weights)
    return (torch.stack(vectors) * w[:, None]).sum(0)


def fedavg(model: nn.Module, client_data: list[tuple[torch.Tensor, torch.Tensor]], n_rounds: int, *, fraction: float,
           local_epochs: int, batch_size: int, lr: float, generator: torch.Generator, rng: np.random.Generator,
           aggregate: Callable[[np.ndarray, list[torch.Tensor], list[float]], torch.Tensor] = weighted_mean,
           evaluate: Callable[[nn.Module], float] | None = None) -> list[float]:
    """Run FedAvg in place on `model`; returns evaluate(model) after each round (empty list if no evaluate).

    aggregate(selected client indices, their new weights, their sizes) -> the new global weights."""
    n_clients = len(client_data)
    m = max(1, int(round(fraction * n_clients)))
    history = []
    for t in range(n_rounds):
        # -- the algorithm --
        selected = np.sort(rng.choice(n_clients, size=m, replace=False))
        updates, sizes = [], []
        for k in selected:
            local = copy.deepcopy(model)
            x, y = client_data[k]
            updates.append(local_update(local, x, y, local_epochs, batch_size, lr, generator))
            sizes.append(float(len(x)))
        set_flat_params(model, aggregate(selected, updates, sizes))
        # -- bookkeeping --
        if evaluate is not None:
            history.append(evaluate(model))
    return history


def rounds_to_target(history: list[float], target: float) -> int | None:
    """The first round (1-based) whose accuracy reaches `target`, or None if none does."""
    for t, acc in enumerate(history, start=1):
        if acc >= target:
            return t
    return None
