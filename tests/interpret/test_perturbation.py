"""LIME equals the lime package on the same samples; permutation importance agrees with scikit-learn's;
deletion curves start at the model's probability and end at the baseline's."""
import warnings

import numpy as np
import pytest
import torch
from sklearn.inspection import permutation_importance as sk_permutation_importance
from sklearn.linear_model import LogisticRegression

from modelbook.interpret import perturbation


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)) * [1, 2, 3, 1, 1, 1]
    y = (X[:, 0] + 0.5 * X[:, 1] - 0.3 * X[:, 2] + rng.normal(size=400) * 0.5 > 0).astype(int)
    X[:, 5] = rng.normal(size=400)  # the model will get it, but it carries no signal
    model = LogisticRegression().fit(X, y)
    model.coef_[0, 4] = 0.0           # a feature the model ignores entirely
    return X, y, model


def test_lime_equals_the_lime_package_on_the_same_samples(fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lime.lime_tabular import LimeTabularExplainer
    X, y, model = fitted
    n, seed = 800, 7
    explainer = LimeTabularExplainer(X, discretize_continuous=False, sample_around_instance=True, feature_selection="none",
                                     random_state=seed)
    exp = explainer.explain_instance(X[3], model.predict_proba, num_features=6, num_samples=n, labels=(1,))
    theirs = np.zeros(6)
    for j, c in exp.local_exp[1]:
        theirs[j] = c
    samples = np.random.RandomState(seed).normal(0, 1, n * 6).reshape(n, 6)  # the draws lime makes first
    coef, _, r2 = perturbation.lime_tabular(lambda A: model.predict_proba(A)[:, 1], X[3], X.std(0), n, samples=samples)
    np.testing.assert_allclose(coef, theirs, rtol=1e-8, atol=1e-12)
    assert r2 == pytest.approx(exp.score, abs=1e-10)


def test_lime_explains_a_linear_model_by_its_slope_direction(fitted):
    X, y, model = fitted
    coef, _, _ = perturbation.lime_tabular(lambda A: model.predict_proba(A)[:, 1], X[0], X.std(0), 2000, np.random.default_rng(0))
    assert np.sign(coef[0]) == np.sign(model.coef_[0, 0]) and abs(coef[4]) < abs(coef[0]) / 20


def test_permutation_importance_agrees_with_sklearn(fitted):
    X, y, model = fitted
    ours, _ = perturbation.permutation_importance(lambda A, b: model.score(A, b), X, y, 50, np.random.default_rng(0))
    theirs = sk_permutation_importance(model, X, y, n_repeats=50, random_state=0).importances_mean
    assert ours[4] == 0.0                                   # an unused feature: exactly no drop
    assert np.argsort(-ours)[:3].tolist() == np.argsort(-theirs)[:3].tolist()
    np.testing.assert_allclose(ours, theirs, atol=0.01)     # different shuffles: equal up to Monte-Carlo error


def test_deletion_curve_endpoints():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).double()
    x = torch.rand(4, 1, 4, 4, dtype=torch.float64)
    t = torch.tensor([0, 1, 2, 0])
    curve = perturbation.deletion_curve(model, x, torch.rand_like(x), t, n_steps=8)
    with torch.no_grad():
        p0 = model(x).softmax(-1).gather(1, t[:, None]).squeeze(1).numpy()
        p_end = model(torch.zeros_like(x)).softmax(-1).gather(1, t[:, None]).squeeze(1).numpy()
    np.testing.assert_allclose(curve[:, 0], p0)
    np.testing.assert_allclose(curve[:, -1], p_end)
    assert perturbation.curve_auc(np.ones((2, 5))) == pytest.approx([1.0, 1.0])


def test_tabular_deletion_curve_endpoints_and_order():
    rng = np.random.default_rng(0)
    w = np.array([3.0, -2.0, 1.0, 0.5, 0.0])
    X, base = rng.normal(size=(6, 5)), np.zeros(5)

    def predict(A):
        return 1 / (1 + np.exp(-(A @ w)))

    contrib = X * w                                                # exact attributions of a linear logit
    curve = perturbation.deletion_curve_tabular(predict, X, contrib, base)
    assert curve.shape == (6, 6)
    np.testing.assert_allclose(curve[:, 0], predict(X))
    np.testing.assert_allclose(curve[:, -1], 0.5)                  # every feature at the baseline: logit 0
    # one feature at a time, biggest positive contribution first: the curve only falls while contributions are
    # positive, and deleting in the exact order beats the reverse order
    reverse = perturbation.deletion_curve_tabular(predict, X, -contrib, base)
    assert np.all(perturbation.curve_auc(curve) <= perturbation.curve_auc(reverse) + 1e-12)
    k = 2
    manual = X.copy()
    top = np.argsort(-contrib, axis=1)[:, :k]
    for i in range(6):
        manual[i, top[i]] = 0.0
    np.testing.assert_allclose(curve[:, k], predict(manual))


def test_mean_log_likelihood_is_minus_sklearns_log_loss():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(3)
    p, y = rng.uniform(0.01, 0.99, 200), rng.integers(0, 2, 200)
    assert perturbation.mean_log_likelihood(p, y) == pytest.approx(-log_loss(y, np.stack([1 - p, p], 1)), rel=1e-12)
    # probabilities of exactly 0 and 1 are clipped, so a confident mistake costs log(1e-12), not infinity
    assert perturbation.mean_log_likelihood(np.array([0.0, 1.0]), np.array([1, 0])) == pytest.approx(np.log(1e-12))


def test_top_k_jaccard_equals_sklearns_jaccard_of_the_indicator_vectors():
    from sklearn.metrics import jaccard_score

    rng = np.random.default_rng(4)
    coefs = [rng.normal(size=12) for _ in range(4)]
    k = 3
    indicators = [np.isin(np.arange(12), np.argsort(-np.abs(c))[:k]).astype(int) for c in coefs]
    want = np.mean([jaccard_score(a, b) for i, a in enumerate(indicators) for b in indicators[i + 1:]])
    assert perturbation.top_k_jaccard(coefs, k) == pytest.approx(want, rel=1e-12)
    assert perturbation.top_k_jaccard([coefs[0], -2 * coefs[0]], k) == 1.0     # the same features, by |coefficient|


def test_deletion_curve_of_the_predicted_class_equals_a_row_by_row_loop(fitted):
    """Each row's curve is the probability of its predicted class (scikit-learn's predict_proba column) as its
    signed attribution's top features go to the training mean, one at a time, recomputed here row by row."""
    X, _, model = fitted
    rows, mean = X[:12], X.mean(0)
    predicted = model.predict(rows)
    assert set(predicted) == {0, 1}                                # both branches are exercised
    sign = perturbation.toward_predicted_class(predicted)
    np.testing.assert_array_equal(sign[:, 0], 2.0 * predicted - 1.0)
    attribution = (rows - mean) * model.coef_[0] * sign            # contributions to the predicted class's log-odds
    curve = perturbation.deletion_curve_predicted_class(lambda A: model.predict_proba(A)[:, 1], rows, attribution, mean,
                                                        predicted)
    d = X.shape[1]
    assert curve.shape == (len(rows), d + 1)
    for i, (x, c) in enumerate(zip(rows, predicted)):
        order = sorted(range(d), key=lambda j: -attribution[i, j])
        for k in range(d + 1):
            z = x.copy()
            z[order[:k]] = mean[order[:k]]
            np.testing.assert_allclose(curve[i, k], model.predict_proba(z[None])[0, c], rtol=1e-12)
    # the most supportive features leave first, so the predicted class's probability falls in the first step
    assert np.all(curve[:, 1] <= curve[:, 0] + 1e-12)
