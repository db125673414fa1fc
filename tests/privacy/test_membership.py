"""Membership inference metrics: AUC vs scikit-learn, TPR at low FPR, and the DP bound on the AUC."""
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from modelbook.core.measure import torch_threads
from modelbook.privacy import membership


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 20, 300).astype(float), rng.integers(0, 18, 250).astype(float)
    expected = roc_auc_score(np.r_[np.ones(300), np.zeros(250)], np.r_[a, b])
    assert membership.auc(a, b) == pytest.approx(expected, abs=1e-12)


def test_roc_points_match_sklearn_with_ties():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 20, 300).astype(float), rng.integers(0, 18, 250).astype(float)
    fpr, tpr = membership.roc_points(a, b)
    ref_fpr, ref_tpr, _ = roc_curve(np.r_[np.ones(300), np.zeros(250)], np.r_[a, b], drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr, rtol=0, atol=1e-15)
    np.testing.assert_allclose(tpr, ref_tpr, rtol=0, atol=1e-15)
    assert fpr[-1] == tpr[-1] == 1.0
    # the area under the points (trapezoids: a tie is a diagonal step) is the Mann-Whitney AUC
    expected = roc_auc_score(np.r_[np.ones(300), np.zeros(250)], np.r_[a, b])
    assert np.trapezoid(tpr, fpr) == pytest.approx(expected, abs=1e-12)
    assert membership.auc(a, b) == pytest.approx(np.trapezoid(tpr, fpr), abs=1e-12)


def test_tpr_at_fpr():
    out = np.arange(100.0)
    assert membership.tpr_at_fpr(np.array([98.5, 50.0, 99.5, 200.0]), out, 0.01) == 0.5


def test_dp_bound():
    assert membership.dp_auc_bound(0.0, 0.0) == pytest.approx(0.5, abs=1e-9)
    # ε = 1, δ = 0: the two lines cross at FPR (1 − e^-1)/(e − e^-1); the area is the crossing TPR
    x = (1 - np.exp(-1)) / (np.e - np.exp(-1))
    assert membership.dp_auc_bound(1.0, 0.0) == pytest.approx(np.e * x, abs=1e-6)
    bounds = [membership.dp_auc_bound(e, 1e-5) for e in (0.1, 0.5, 1, 2, 4, 8)]
    assert all(a < b for a, b in zip(bounds, bounds[1:])) and bounds[-1] < 1.0 + 1e-9
    grid = np.linspace(0, 1, 11)
    assert np.all(membership.dp_roc_envelope(grid, 1.0, 1e-5) >= grid)


def test_loss_scores_rank_members_of_an_overfitted_model():
    torch.manual_seed(0)
    x, y = torch.randn(40, 30), torch.randint(0, 3, (40,))
    model = torch.nn.Sequential(torch.nn.Linear(30, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    with torch_threads(1):  # a tiny model: a second thread only spins on a busy machine
        for _ in range(300):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[:20]), y[:20]).backward()
            opt.step()
    assert membership.auc(membership.loss_scores(model, x[:20], y[:20]), membership.loss_scores(model, x[20:], y[20:])) > 0.9
    f = membership.output_features(model, x, y)
    assert f.shape == (40, 4)
    # reference in float64 from the same float32 logits (in float32, 1 − p rounds to 0 for confident members)
    p = torch.softmax(model(x).double(), -1).gather(1, y[:, None]).squeeze(1).detach()
    np.testing.assert_allclose(f[:, 1], torch.log(p / (1 - p)).numpy(), rtol=1e-6, atol=1e-6)
