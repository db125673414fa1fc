"""Explicit-feedback matrix factorisation: biased SVD by SGD (Funk / Koren) and biased ALS, from scratch.

A rating is predicted as a global mean, a user bias, an item bias and the dot product of two k-vectors:

    r̂(u, i) = μ + b_u + b_i + q_i · p_u
    minimise Σ_(u,i) (r − r̂)² + λ (b_u² + b_i² + |p_u|² + |q_i|²)

SGDSVD follows Surprise's SVD (Koren, Bell & Volinsky 2009, eq. 5; Surprise docs `matrix_factorization.SVD`)
with the same defaults — 100 factors, 20 epochs, lr 0.005, λ 0.02, factors drawn from N(0, 0.1²), biases
from 0 — but updates a minibatch of ratings at once with numpy (the gradients of a batch are summed, so
a batch of one is Surprise's per-rating update exactly); per-rating loops in Python would take minutes.

    e = r − r̂;   b_u += lr (e − λ b_u);   b_i += lr (e − λ b_i);   p_u += lr (e q_i − λ p_u);   q_i += lr (e p_u − λ q_i)

ALS fixes one side and solves the other in closed form, a ridge regression per user (and then per item):
with the item side fixed, [p_u, b_u] = (X_uᵀX_u + λ n_u I)⁻¹ X_uᵀ (r_u − μ − b_i), X_u the rows [q_i, 1] of
the items u rated (λ scaled by n_u: weighted-λ regularisation, Zhou et al. 2008). Every user's system is
solved at once in a batch (torch.linalg.solve over (n_users, k+1, k+1)).

    model = SGDSVD(k).fit(train);  model.predict(users, items);  rmse(model, test)
    surprise_svd(train, test, seed)  -> Surprise's own SVD on the same split (the reference)
"""
from __future__ import annotations

import numpy as np
import torch

from modelbook.recsys.splits import Ratings


class _Biased:
    mu: float
    bu: np.ndarray
    bi: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    low: float = 0.5
    high: float = 5.0

    def predict(self, users: np.ndarray, items: np.ndarray, clip: bool = True) -> np.ndarray:
        r = self.mu + self.bu[users] + self.bi[items] + (self.P[users] * self.Q[items]).sum(1)
        return np.clip(r, self.low, self.high) if clip else r


class SGDSVD(_Biased):
    def __init__(self, n_factors: int = 100, n_epochs: int = 20, lr: float = 0.005, reg: float = 0.02,
                 init_std: float = 0.1, batch: int = 256, seed: int = 0):
        self.k, self.epochs, self.lr, self.reg, self.std, self.batch, self.seed = n_factors, n_epochs, lr, reg, init_std, batch, seed

    def fit(self, r: Ratings) -> "SGDSVD":
        rng = np.random.default_rng(self.seed)
        self.mu = float(r.rating.mean())
        self.bu, self.bi = np.zeros(r.n_users), np.zeros(r.n_items)
        self.P = rng.normal(0, self.std, (r.n_users, self.k))
        self.Q = rng.normal(0, self.std, (r.n_items, self.k))
        lr, reg = self.lr, self.reg
        # the scatter-adds go through torch views of the same arrays: index_add_ sums repeated indices like
        # np.add.at, about 5× faster (bench: `modelbook bench mf`)
        bu_t, bi_t, P_t, Q_t = (torch.from_numpy(a) for a in (self.bu, self.bi, self.P, self.Q))
        users_t, items_t = torch.from_numpy(r.user.astype(np.int64)), torch.from_numpy(r.item.astype(np.int64))
        for _ in range(self.epochs):
            order = rng.permutation(len(r))
            for s in range(0, len(order), self.batch):
                idx = order[s:s + self.batch]
                u, i, y = r.user[idx], r.item[idx], r.rating[idx]
                p, q = self.P[u], self.Q[i]
                e = y - (self.mu + self.bu[u] + self.bi[i] + np.einsum("bk,bk->b", p, q))
                ut, it = users_t[idx], items_t[idx]
                bu_t.index_add_(0, ut, torch.from_numpy(lr * (e - reg * self.bu[u])))
                bi_t.index_add_(0, it, torch.from_numpy(lr * (e - reg * self.bi[i])))
                P_t.index_add_(0, ut, torch.from_numpy(lr * (e[:, None] * q - reg * p)))
                Q_t.index_add_(0, it, torch.from_numpy(lr * (e[:, None] * p - reg * q)))
        return self


def _ridge_side(rows: np.ndarray, cols: np.ndarray, target: np.ndarray, X: torch.Tensor, n_rows: int,
                reg: float) -> torch.Tensor:
    """For every row r: argmin_w Σ_(r,c) (target − X[c]·w)² + reg n_r |w|², all rows solved in one batch."""
    k = X.shape[1]
    rows_t = torch.from_numpy(rows)
    Xc = X[torch.from_numpy(cols)]                                                     # (N, k)
    gram = torch.zeros(n_rows, k * k, dtype=torch.float64)
    for s in range(0, len(rows), 16384):                                               # outer products in chunks
        x = Xc[s:s + 16384]
        gram.index_add_(0, rows_t[s:s + 16384], (x[:, :, None] * x[:, None, :]).reshape(len(x), -1))
    rhs = torch.zeros(n_rows, k, dtype=torch.float64).index_add_(0, rows_t, Xc * torch.from_numpy(target)[:, None])
    n = torch.bincount(rows_t, minlength=n_rows).double().clamp(min=1)
    A = gram.reshape(n_rows, k, k) + reg * n[:, None, None] * torch.eye(k, dtype=torch.float64)
    return torch.linalg.solve(A, rhs)


class ALS(_Biased):
    def __init__(self, n_factors: int = 20, n_iters: int = 10, reg: float = 0.05, init_std: float = 0.1, seed: int = 0):
        self.k, self.iters, self.reg, self.std, self.seed = n_factors, n_iters, reg, init_std, seed

    def fit(self, r: Ratings) -> "ALS":
        rng = np.random.default_rng(self.seed)
        self.mu = float(r.rating.mean())
        P = torch.from_numpy(rng.normal(0, self.std, (r.n_users, self.k)))
        Q = torch.from_numpy(rng.normal(0, self.std, (r.n_items, self.k)))
        bu, bi = torch.zeros(r.n_users, dtype=torch.float64), torch.zeros(r.n_items, dtype=torch.float64)
        ones_u, ones_i = torch.ones(r.n_users, 1, dtype=torch.float64), torch.ones(r.n_items, 1, dtype=torch.float64)
        y = r.rating - self.mu
        for _ in range(self.iters):
            w = _ridge_side(r.user, r.item, y - bi.numpy()[r.item], torch.cat([Q, ones_i], 1), r.n_users, self.reg)
            P, bu = w[:, :-1], w[:, -1]
            w = _ridge_side(r.item, r.user, y - bu.numpy()[r.user], torch.cat([P, ones_u], 1), r.n_items, self.reg)
            Q, bi = w[:, :-1], w[:, -1]
        self.P, self.Q, self.bu, self.bi = P.numpy(), Q.numpy(), bu.numpy(), bi.numpy()
        return self


class Baseline(_Biased):
    """μ + b_u + b_i only (ridge-fitted by ALS with no factors): what the factors add is measured against it."""

    def __init__(self, n_iters: int = 10, reg: float = 0.05):
        self.iters, self.reg = n_iters, reg

    def fit(self, r: Ratings) -> "Baseline":
        m = ALS(0, self.iters, self.reg).fit(r)
        self.mu, self.bu, self.bi, self.P, self.Q = m.mu, m.bu, m.bi, m.P, m.Q
        return self


def rmse(model: _Biased, test: Ratings) -> float:
    return float(np.sqrt(np.mean((model.predict(test.user, test.item) - test.rating) ** 2)))


def surprise_svd(train: Ratings, test: Ratings, seed: int = 0, **kwargs) -> float:
    """RMSE of scikit-surprise's SVD (defaults unless kwargs) trained on `train`, on `test` (same split)."""
    import pandas as pd
    from surprise import SVD, Dataset, Reader

    df = pd.DataFrame({"u": train.user, "i": train.item, "r": train.rating})
    trainset = Dataset.load_from_df(df, Reader(rating_scale=(0.5, 5))).build_full_trainset()
    algo = SVD(random_state=seed, **kwargs)
    algo.fit(trainset)
    pred = np.array([algo.predict(int(u), int(i)).est for u, i in zip(test.user, test.item)])
    return float(np.sqrt(np.mean((pred - test.rating) ** 2)))
