"""Binary weights: the straight-through estimator, XNOR's scale, storage."""
import torch
from torch import nn

from modelbook.compression.binary import BinaryConv2d, BinaryLinear, SignSTE, binarize, binary_weight_bytes, clip_latent_weights_


def test_sign_ste_forward_and_backward():
    w = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5], requires_grad=True)
    out = SignSTE.apply(w)
    assert out.tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0]
    out.backward(torch.full_like(w, 3.0))
    assert w.grad.tolist() == [0.0, 3.0, 3.0, 3.0, 0.0]  # passed through only where |w| <= 1


def test_xnor_scale_is_the_least_squares_optimum():
    w = torch.randn(6, 20, generator=torch.Generator().manual_seed(0))
    approx = binarize(w)  # α · sign(w), α = mean |w| per row
    torch.testing.assert_close(approx.abs().mean(1), w.abs().mean(1))
    best = float((w - approx).pow(2).sum())
    for factor in (0.9, 1.1):  # moving α either way only increases ‖w − α b‖²
        assert best < float((w - factor * approx).pow(2).sum())


def test_binary_layers_match_float_layers_on_binarized_weights():
    torch.manual_seed(0)
    lin = BinaryLinear(8, 4)
    ref = nn.Linear(8, 4)
    ref.weight.data = binarize(lin.weight.detach())
    ref.bias.data = lin.bias.detach().clone()
    x = torch.randn(3, 8)
    torch.testing.assert_close(lin(x), ref(x))
    conv = BinaryConv2d(2, 3, 3, padding=1, channel_scale=False)
    assert set(torch.unique(binarize(conv.weight.detach(), False)).tolist()) <= {-1.0, 1.0}
    conv(torch.randn(1, 2, 5, 5)).sum().backward()
    assert conv.weight.grad is not None


def test_clip_and_size():
    model = nn.Sequential(BinaryLinear(100, 10, bias=False), nn.Linear(10, 2))
    with torch.no_grad():
        model[0].weight.mul_(100)
    clip_latent_weights_(model)
    assert float(model[0].weight.abs().max()) <= 1.0
    assert binary_weight_bytes(model) == 1000 // 8 + 4 * 10 + (10 * 2 + 2) * 4
