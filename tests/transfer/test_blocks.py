"""modelbook.transfer: label budgets, the probe-initialised head, L2-SP regression (= sklearn at prior 0), zero-shot."""
import numpy as np
import pytest
import torch
from torch import nn

from modelbook.core.errors import ModelbookError
from modelbook.transfer.data import per_class, relabel
from modelbook.transfer.finetune import TextClassifier, init_head_from_probe, train_steps
from modelbook.transfer.zeroshot import accuracy_of, softmax_regression, standardiser, zero_shot
from modelbook.vision.features import linear_probe


def _blobs(n=60, d=8, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    centres = torch.randn(k, d, generator=g) * 2
    return centres[y] + torch.randn(n, d, generator=g), y


def test_per_class_draws_n_of_each_without_overlap():
    labels = np.repeat(np.arange(4), 30)
    idx = per_class(labels, [2, 0], 5, np.random.default_rng(0))
    assert len(idx) == 10 and len(set(idx)) == 10
    assert (labels[idx[:5]] == 2).all() and (labels[idx[5:]] == 0).all()
    assert relabel(labels[idx], [2, 0]).tolist() == [0] * 5 + [1] * 5
    again = per_class(labels, [2, 0], 5, np.random.default_rng(1), exclude=idx)
    assert not set(again) & set(idx)
    with pytest.raises(ModelbookError, match="only 30"):
        per_class(labels, [0], 31, np.random.default_rng(0))


def test_head_from_probe_gives_the_probes_predictions():
    f, y = _blobs()
    probe = linear_probe(f, y, 3, l2=0.01)
    head = nn.Linear(8, 3)
    init_head_from_probe(head, f, probe.weights)
    W, b = probe.weights
    mean, std = f.mean(0), f.std(0) + 1e-6
    expected = ((f - mean) / std).double() @ W + b
    assert torch.allclose(head(f).double(), expected, atol=1e-4)


def test_softmax_regression_equals_sklearn_without_prior_and_moves_to_the_prior():
    from sklearn.linear_model import LogisticRegression

    f, y = _blobs()
    x = standardiser(f)(f)
    l2 = 0.1
    W, b = softmax_regression(x, y, 3, l2)
    sk = LogisticRegression(C=1 / (l2 * len(y)), tol=1e-10, max_iter=5000).fit(x.numpy(), y.numpy())
    assert np.allclose(W.numpy().T, sk.coef_, atol=1e-4)
    prior = torch.randn(8, 3, dtype=torch.float64) * 5
    W_strong, _ = softmax_regression(x, y, 3, 1e4, prior=prior)
    assert (W_strong - prior).abs().max() < 1e-2  # a strong L2-SP pull sits on the source weights
    assert accuracy_of(x, y, (W, b)) > 0.9


def test_zero_shot_picks_the_nearest_name():
    names = torch.eye(3)
    x = torch.tensor([[0.1, 2.0, 0.0], [5.0, 0.0, 0.1], [0.0, 0.2, 0.3]])
    assert zero_shot(x, names).tolist() == [1, 0, 2]


def test_train_steps_only_moves_the_given_parameters():
    class Enc(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)

        def forward(self, ids, mask):
            return self.emb(ids)

    torch.manual_seed(0)
    model = TextClassifier(Enc(), 2, d_model=4)
    ids, mask = torch.randint(0, 10, (12, 3)), torch.ones(12, 3, dtype=torch.long)
    y = torch.arange(12) % 2
    before = model.encoder.emb.weight.clone()
    losses = train_steps(model, (ids, mask), y, 20, 4, [{"params": list(model.head.parameters()), "lr": 0.1}],
                         torch.Generator().manual_seed(0))
    assert torch.equal(model.encoder.emb.weight, before) and len(losses) == 20 and not model.training
