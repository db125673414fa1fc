"""core.schedules.plateau_cuts (the reduce-on-plateau rule the monitoring lab checks its runs against) vs torch's
ReduceLROnPlateau stepped on the same validation losses."""
import pytest
import torch
from torch import nn

from modelbook.core.schedules import plateau_cuts


def _torch_cuts(losses, lr, threshold, factor):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=factor, patience=0, threshold=threshold)
    lrs, cuts = [], []
    for loss in losses:
        before = opt.param_groups[0]["lr"]
        lrs.append(before)
        sched.step(loss)
        cuts.append(opt.param_groups[0]["lr"] < before)
    return lrs, cuts


@pytest.mark.parametrize(("lr", "threshold", "factor"), [(1e-3, 0.05, 0.1), (1e-2, 1e-4, 0.5), (1e-6, 0.05, 0.1)])
def test_plateau_cuts_equal_torch_reduce_on_plateau(lr, threshold, factor):
    gen = torch.Generator().manual_seed(0)
    # a falling loss with noise: some epochs beat the best by the threshold, some do not, some are worse
    losses = [float(x) for x in 2.0 * torch.exp(-0.2 * torch.arange(30.0)) * (1 + 0.1 * torch.randn(30, generator=gen))]
    lrs, expected = _torch_cuts(losses, lr, threshold, factor)
    got = plateau_cuts(losses, lrs, threshold, factor)
    assert got == expected
    assert any(got) and not all(got)


def test_plateau_cuts_skip_a_cut_smaller_than_eps():
    losses = [1.0, 1.0, 1.0, 1.0]   # every epoch after the first stalls
    lrs, expected = _torch_cuts(losses, 1e-7, 0.05, 0.1)
    assert expected == [False, True, False, False]   # 1e-7 → 1e-8; then 1e-8 × 0.9 ≤ 1e-8: torch skips
    assert plateau_cuts(losses, lrs, 0.05, 0.1) == expected
