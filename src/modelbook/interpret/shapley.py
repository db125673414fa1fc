"""Exact Shapley values of a tree ensemble by brute force: every coalition of features, the Shapley formula.

The game TreeExplainer solves for a tree (Lundberg et al. 2018, "Consistent individualized feature attribution for
tree ensembles", Alg. 1 EXPVALUE; shap's feature_perturbation="tree_path_dependent"): the value of a coalition S
of features at x is the tree's expected output when the features in S are fixed to x and the others are unknown,

    v(S) = Σ_leaves value_ℓ · Π_{splits j on the path to ℓ}  (1[x takes that branch]   if feature_j ∈ S
                                                              cover_child / cover_j   otherwise)

(cover = the training weight that reached the node). The Shapley value of feature i is then

    φ_i = Σ_{S ⊆ M∖{i}} |S|! (|M| − |S| − 1)! / |M|! · (v(S ∪ {i}) − v(S)),

over the |M| features the tree splits on (a feature it never reads is a null player: φ = 0, and leaving it out
of M changes no other value). Shapley values add over the trees of an ensemble, so a gradient-boosting
classifier's log-odds get φ = learning rate · Σ_trees φ_tree, and E[f] = init + learning rate · Σ_trees v_tree(∅).
2^|M| coalitions per tree: fine for depth-3 trees (|M| ≤ 7), which is what makes brute force a usable reference.

Cross-check: tests/interpret/test_shapley.py (equal to shap's TreeExplainer; local accuracy; a fault fails).
"""
from __future__ import annotations

from math import factorial

import numpy as np


def coalition_values(tree, X: np.ndarray, features: list[int], cover: np.ndarray | None = None) -> np.ndarray:
    """(2^|M|, n) values v(S) of every coalition S of `features` (bit k of the row index = features[k] ∈ S) for a
    fitted sklearn tree_ (`tree`); `cover` defaults to tree.weighted_n_node_samples."""
    cover = tree.weighted_n_node_samples if cover is None else cover
    position = {f: k for k, f in enumerate(features)}
    in_s = (np.arange(2 ** len(features))[:, None] >> np.arange(len(features))[None, :]) & 1  # (2^M, M)
    v = np.zeros((len(in_s), len(X)))

    def walk(node: int, factor: np.ndarray) -> None:               # factor: (2^M, n) product along the path so far
        left, right = tree.children_left[node], tree.children_right[node]
        if left == -1:                                              # a leaf
            v[:] += tree.value[node].ravel()[0] * factor
            return
        f = tree.feature[node]
        goes_left = (X[:, f] <= tree.threshold[node])[None, :]      # sklearn sends x ≤ threshold to the left
        known = in_s[:, position[f]][:, None].astype(bool)
        for child, branch in ((left, goes_left), (right, ~goes_left)):
            walk(child, factor * np.where(known, branch, cover[child] / cover[node]))

    walk(0, np.ones_like(v))
    return v


def shapley_from_values(v: np.ndarray, n_players: int) -> np.ndarray:
    """(n, n_players) Shapley values from the (2^n_players, n) coalition values (bit k = player k)."""
    subsets = np.arange(2 ** n_players)
    size = np.array([bin(s).count("1") for s in subsets])
    weight = np.array([factorial(k) * factorial(n_players - k - 1) / factorial(n_players) if k < n_players else 0.0
                       for k in size])
    phi = np.zeros((v.shape[1], n_players))
    for i in range(n_players):
        without = subsets[(subsets >> i) & 1 == 0]
        phi[:, i] = weight[without] @ (v[without | (1 << i)] - v[without])
    return phi


def gradient_boosting_shapley(model, X: np.ndarray) -> tuple[np.ndarray, float]:
    """(φ (n, d), E[f]) of a binary sklearn GradientBoostingClassifier's log-odds, tree by tree, by brute force."""
    X = np.asarray(X, dtype=np.float32).astype(np.float64)          # sklearn's trees compare float32 inputs
    phi = np.zeros(X.shape)
    expected = float(model.init_.predict_proba(X[:1])[0, 1])
    expected = float(np.log(expected / (1 - expected)))             # the initial log-odds (prior)
    for estimator in model.estimators_[:, 0]:
        tree = estimator.tree_
        features = sorted({int(f) for f in tree.feature if f >= 0})
        v = coalition_values(tree, X, features)
        phi[:, features] += model.learning_rate * shapley_from_values(v, len(features))
        expected += model.learning_rate * float(v[0, 0])
    return phi, expected
