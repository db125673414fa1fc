"""Dynamic sparse training: Erdős–Rényi densities, fixed count under rewiring, RigL grows at the largest gradients."""
import pytest
import torch
from torch import nn

from modelbook.compression.prune import prunable, sparsity_of
from modelbook.compression.sparse import DynamicSparsity, erdos_renyi_densities, random_masks


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(100, 60), nn.ReLU(), nn.Linear(60, 30), nn.ReLU(), nn.Linear(30, 10))


def test_erdos_renyi_hits_the_overall_sparsity_and_favours_small_layers():
    weights = prunable(_net())
    d = erdos_renyi_densities(weights, 0.9)
    n = {k: w.numel() for k, w in weights.items()}
    assert sum(d[k] * n[k] for k in n) / sum(n.values()) == pytest.approx(0.1)
    dens = list(d.values())
    assert dens[0] < dens[1] <= dens[2] <= 1.0
    masks = random_masks(weights, d, torch.Generator().manual_seed(0))
    assert sparsity_of(masks) == pytest.approx(0.9, abs=2e-3)


@pytest.mark.parametrize("grow", ["random", "gradient"])
def test_rewiring_keeps_the_count_and_resets_moved_weights(grow):
    net = _net()
    weights = prunable(net)
    masks = random_masks(weights, erdos_renyi_densities(weights, 0.8), torch.Generator().manual_seed(1))
    counts = {k: int(m.sum()) for k, m in masks.items()}
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    dst = DynamicSparsity(net, masks, opt, grow=grow, zeta=0.5, delta_t=1, t_end=10)
    before = {k: m.clone() for k, m in masks.items()}

    class State:
        model, step = net, 0
    opt.zero_grad()
    net(torch.randn(32, 100)).pow(2).mean().backward()
    grads = {k: w.grad.clone() for k, w in weights.items()}
    opt.step()
    State.step = 1
    dst.on_step_end(State, 0.0, 0.0)
    for k, m in dst.masks.items():
        assert int(m.sum()) == counts[k]
        grown = m & ~before[k]
        assert grown.any()
        assert float(weights[k][grown].abs().max()) == 0.0  # new connections start at zero
        assert float(opt.state[weights[k]]["exp_avg"][grown].abs().max()) == 0.0
        if grow == "gradient":  # every grown position has a larger |gradient| than every inactive one left out
            still_off = ~m & ~before[k]
            if still_off.any():
                assert float(grads[k][grown].abs().min()) >= float(grads[k][still_off].abs().max())
        assert float(weights[k][~m].abs().max()) == 0.0


def test_static_mask_never_moves():
    net = _net()
    weights = prunable(net)
    masks = random_masks(weights, erdos_renyi_densities(weights, 0.9), torch.Generator().manual_seed(2))
    before = {k: m.clone() for k, m in masks.items()}
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    dst = DynamicSparsity(net, masks, opt, grow="none", delta_t=1, t_end=10)

    class State:
        model, step = net, 1
    net(torch.randn(4, 100)).sum().backward()
    opt.step()
    dst.on_step_end(State, 0.0, 0.0)
    assert all(torch.equal(before[k], dst.masks[k]) for k in before)
    with pytest.raises(ValueError):
        DynamicSparsity(net, masks, opt, grow="magic")
