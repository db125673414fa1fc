"""The interpret lab's CNN equals the same layers written with torch.nn.functional; the mosaic equals pad-and-reshape."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from modelbook.interpret.cnn import mosaic, small_cnn


def test_small_cnn_equals_the_functional_composition():
    torch.manual_seed(0)
    model = small_cnn().double()
    x = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    h = F.max_pool2d(F.relu(F.conv2d(x, model.conv1.weight, model.conv1.bias, padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, model.conv2.weight, model.conv2.bias, padding=1)), 2)
    want = h.reshape(3, -1) @ model.fc.weight.T + model.fc.bias
    torch.testing.assert_close(model(x), want, rtol=1e-12, atol=1e-12)
    assert model.conv1.weight.shape == (8, 1, 5, 5) and model(x).shape == (3, 10)
    assert [n for n, m in model.named_children() if any(p.requires_grad for p in m.parameters())] == ["conv1", "conv2", "fc"]


@pytest.mark.parametrize("n, n_rows", [(8, 2), (6, 1), (5, 2), (7, 3)])
def test_mosaic_equals_pad_and_reshape(n, n_rows):
    rng = np.random.default_rng(n)
    h, w, pad = 4, 3, -1.5
    images = rng.normal(size=(n, h, w))
    n_cols = int(np.ceil(n / n_rows))
    tiles = np.full((n_rows * n_cols, h + 1, w + 1), pad)                  # every tile with its separator line
    tiles[:n, :h, :w] = images
    want = tiles.reshape(n_rows, n_cols, h + 1, w + 1).transpose(0, 2, 1, 3).reshape(n_rows * (h + 1), n_cols * (w + 1))
    np.testing.assert_array_equal(mosaic(images, n_rows, pad), want)
