"""Membership inference: was this record in the training set? Two attacks and the bound DP puts on them.

Loss threshold (Yeom et al. 2018): a model fits its training examples better than unseen ones, so score each
record by −loss(model(x), y) and call it a member above a threshold. Sweeping the threshold gives an ROC curve
(`roc_points`).

Shadow models (Shokri et al. 2017): the attacker trains "shadow" models the way the target was trained, on data
from the same distribution whose membership it knows, and fits an attack classifier on (features of the model's
output on a record → in/out). Features here: the loss, the top-3 sorted probabilities and the probability of
the true class. Applied to the target model's outputs it gives a score per record.

Report the AUC, and the true-positive rate at a low false-positive rate (Carlini et al. 2022): an attack that
is right about a few records with near certainty is a real leak even when its average AUC is near 0.5.

The DP bound: if the training algorithm is (ε, δ)-DP, any membership test on one record has
    TPR ≤ e^ε · FPR + δ   and   TPR ≤ 1 − e^{−ε} (1 − δ − FPR)
(the hypothesis-testing view of DP: Wasserman & Zhou 2010; Kairouz, Oh & Viswanath 2015), so its ROC curve lies
under that envelope and its AUC under the envelope's area (`dp_auc_bound`). At ε = 1 this is ≈ 0.73.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn


@torch.no_grad()
def output_features(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """(N, 4) per record: loss, logit-scaled confidence of the true class log(p_y / (1 − p_y)), the same for the
    most likely class, and the entropy of the prediction. The logit scaling (Carlini et al. 2022) spreads the
    confidences that crowd near 1 for training records, where a linear attack can separate them."""
    model.eval()
    logits = model(x).double()
    logp = logits.log_softmax(-1)
    loss = -logp.gather(1, y[:, None]).squeeze(1)

    def logit_conf(idx):  # log p_c − log Σ_{j≠c} p_j, computed from the logits without cancellation
        others = logits.scatter(1, idx[:, None], float("-inf")).logsumexp(-1)
        return logits.gather(1, idx[:, None]).squeeze(1) - others

    entropy = -(logp.exp() * logp).sum(-1)
    return torch.stack([loss, logit_conf(y), logit_conf(logits.argmax(1)), entropy], 1).numpy()


def loss_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Membership score of the loss-threshold attack: −loss (higher = more likely a member)."""
    return -output_features(model, x, y)[:, 0]


def auc(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """P(score of a random member > score of a random non-member), ties counted half (Mann-Whitney U)."""
    from scipy.stats import rankdata

    s = np.concatenate([scores_in, scores_out])
    ranks = rankdata(s)
    n1, n0 = len(scores_in), len(scores_out)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def roc_points(scores_in: np.ndarray, scores_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) of the threshold attack "member if score ≥ t", at every distinct score t from the highest down,
    after the point (0, 0) of a threshold above every score: the ROC curve's corners, ties included."""
    thresholds = np.unique(np.concatenate([scores_in, scores_out]))[::-1]
    fpr = [0.0] + [float(np.mean(scores_out >= t)) for t in thresholds]
    tpr = [0.0] + [float(np.mean(scores_in >= t)) for t in thresholds]
    return np.array(fpr), np.array(tpr)


def tpr_at_fpr(scores_in: np.ndarray, scores_out: np.ndarray, fpr: float) -> float:
    """True-positive rate at the threshold that lets through at most a fraction `fpr` of non-members."""
    threshold = np.quantile(scores_out, 1 - fpr, method="higher")
    return float(np.mean(scores_in > threshold))


def shadow_attack(train_shadow: Callable[[torch.Tensor, torch.Tensor], nn.Module], pool_x: torch.Tensor, pool_y: torch.Tensor,
                  n_shadows: int, n_in: int, rng: np.random.Generator):
    """Train n_shadows shadow models with train_shadow(x, y) (each on n_in records of the pool; another n_in held
    out) and fit the attack classifier on their outputs. Returns attack(model, x, y) -> membership scores."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    feats, labels = [], []
    for _ in range(n_shadows):
        idx = rng.choice(len(pool_x), size=2 * n_in, replace=False)
        inside, outside = idx[:n_in], idx[n_in:]
        shadow = train_shadow(pool_x[inside], pool_y[inside])
        feats += [output_features(shadow, pool_x[inside], pool_y[inside]), output_features(shadow, pool_x[outside], pool_y[outside])]
        labels += [np.ones(n_in), np.zeros(n_in)]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(np.concatenate(feats), np.concatenate(labels))

    def attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        return clf.decision_function(output_features(model, x, y))
    return attack


def dp_roc_envelope(fpr: np.ndarray, epsilon: float, delta: float) -> np.ndarray:
    """The highest TPR any membership test can reach at each FPR against an (ε, δ)-DP training algorithm."""
    fpr = np.asarray(fpr, dtype=float)
    tpr = np.minimum.reduce([np.ones_like(fpr), np.exp(epsilon) * fpr + delta, 1 - np.exp(-epsilon) * (1 - delta - fpr)])
    return np.maximum(tpr, fpr)


def dp_auc_bound(epsilon: float, delta: float, n_grid: int = 100_001) -> float:
    """Area under dp_roc_envelope: no membership attack on an (ε, δ)-DP model has a higher AUC."""
    x = np.linspace(0.0, 1.0, n_grid)
    return float(np.trapezoid(dp_roc_envelope(x, epsilon, delta), x))
