"""Model-randomisation sanity check: seeded re-initialisation, cascade order, rank correlation."""
import pytest
import torch
from torch import nn

from modelbook.interpret import gradients, sanity


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)).double()


def test_randomize_layer_is_seeded_and_leaves_the_global_stream_alone():
    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    state = torch.get_rng_state()
    sanity.randomize_layer(a, 5)
    sanity.randomize_layer(b, 5)
    assert torch.equal(a.weight, b.weight) and torch.equal(torch.get_rng_state(), state)


def test_rank_correlation():
    x = torch.rand(3, 20, dtype=torch.float64)
    assert sanity.rank_correlation(x, x) == pytest.approx(1.0)
    assert sanity.rank_correlation(x, -x) == pytest.approx(-1.0)


def test_cascade_randomizes_top_down_and_changes_gradients():
    model = _model()
    x = torch.randn(16, 10, dtype=torch.float64)
    t = model(x).argmax(1)
    original = gradients.saliency(model, x, t)
    stages = sanity.cascading_randomization(model, ["2", "0"], lambda m: gradients.saliency(m, x, t), seed=0)
    assert [name for name, _ in stages] == ["2", "0"]
    assert sanity.rank_correlation(original, stages[-1][1]) < 0.5
    assert torch.equal(gradients.saliency(model, x, t), original)  # the model itself is untouched
