"""The LR range test: exponential sweep, smoothing, early stop on divergence, sensible suggestion."""
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from modelbook.core.lr_range import LRRange, lr_range_test

pytestmark = pytest.mark.usefixtures("single_thread")


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 20, generator=g)
    w = torch.randn(20, 3, generator=g)
    y = (x @ w).argmax(1)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 3))
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed))
    return model, loader


def test_the_rate_grows_exponentially_and_the_test_stops_when_the_loss_blows_up():
    model, loader = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=123.0, momentum=0.9)   # its lr is overwritten
    curve = lr_range_test(model, loader, opt, nn.CrossEntropyLoss(), lr_min=1e-4, lr_max=100.0, n_steps=120)
    lrs = np.array(curve.lrs)
    assert lrs[0] == 1e-4
    np.testing.assert_allclose(np.diff(np.log(lrs)), math.log(1e6) / 119, rtol=1e-9)   # geometric steps
    assert curve.stop_reason != "finished" and len(lrs) < 120                         # diverged before lr_max
    assert 1e-3 < curve.suggested_lr < 1.0 and curve.min_loss_lr > curve.suggested_lr
    # smoothed = bias-corrected EMA of the raw losses
    ema, out = 0.0, []
    for i, l in enumerate(curve.losses, 1):
        ema = 0.98 * ema + 0.02 * l
        out.append(ema / (1 - 0.98 ** i))
    np.testing.assert_allclose(curve.smoothed, out, rtol=1e-12)


def test_the_suggestion_trains_well():
    model, loader = _problem(1)
    curve = lr_range_test(model, loader, torch.optim.SGD(model.parameters(), lr=1), nn.CrossEntropyLoss(),
                          lr_min=1e-5, lr_max=10.0, n_steps=150)

    def final_loss(lr):
        m, ld = _problem(2)
        opt = torch.optim.SGD(m.parameters(), lr=lr)
        for _ in range(3):
            for x, y in ld:
                opt.zero_grad()
                loss = nn.functional.cross_entropy(m(x), y)
                loss.backward()
                opt.step()
        return float(loss)

    good = final_loss(curve.suggested_lr)
    assert good < final_loss(curve.suggested_lr / 100) and good < 0.7


def test_steepest_point_on_a_synthetic_curve():
    lrs = list(np.logspace(-5, 0, 101))
    loss = [2.0 - 1.5 / (1 + math.exp(-3 * (math.log10(lr) + 2.5))) for lr in lrs]   # falls fastest at 10^-2.5
    curve = LRRange(lrs=lrs, losses=loss, smoothed=loss)
    assert abs(math.log10(curve.steepest_lr) + 2.5) < 0.06


def test_blowup_reads_the_raw_loss_after_the_smoothed_minimum():
    curve = LRRange(lrs=[1, 2, 3, 4], losses=[2.0, 1.0, 0.5, 6.0], smoothed=[2.0, 1.5, 1.0, 2.5])
    assert curve.blowup == 6.0 / 1.0
    model, loader = _problem()
    far = lr_range_test(model, loader, torch.optim.SGD(model.parameters(), lr=1, momentum=0.9), nn.CrossEntropyLoss(),
                        lr_min=1e-4, lr_max=100.0, n_steps=120)
    assert far.blowup > 2
    model, loader = _problem()   # a range that stops short of the divergent rates: no blow-up to see
    short = lr_range_test(model, loader, torch.optim.SGD(model.parameters(), lr=1, momentum=0.9), nn.CrossEntropyLoss(),
                          lr_min=1e-4, lr_max=1e-2, n_steps=120)
    assert short.blowup < 2
