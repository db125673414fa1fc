"""Our quantizer vs torch.ao: same scales, zero points and integers on the same tensors."""
import warnings

import pytest
import torch

from modelbook.compression.quantize import (
    Observer,
    calibrate,
    dequantize,
    fake_quantize,
    percentile_range,
    qparams_from_range,
    quantize,
    sqnr_db,
)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in 2.13 and warns on every use
        yield


def _x(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * 3 + 0.5


@pytest.mark.parametrize("symmetric,dtype,qscheme", [
    (False, torch.quint8, torch.per_tensor_affine),
    (True, torch.qint8, torch.per_tensor_symmetric),
    (False, torch.qint8, torch.per_tensor_affine),
])
def test_per_tensor_matches_torch_ao(symmetric, dtype, qscheme):
    from torch.ao.quantization.observer import MinMaxObserver

    x = _x(64, 33)
    obs = MinMaxObserver(dtype=dtype, qscheme=qscheme)
    obs(x)
    scale, zero = obs.calculate_qparams()
    ours = calibrate(x, bits=8, symmetric=symmetric, signed=dtype == torch.qint8)
    assert float(ours.scale) == float(scale) and int(ours.zero_point) == int(zero)
    ref = torch.quantize_per_tensor(x, float(scale), int(zero), dtype)
    assert torch.equal(quantize(x, ours), ref.int_repr().long())
    torch.testing.assert_close(dequantize(quantize(x, ours), ours), ref.dequantize(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("axis", [0, 1])
def test_per_channel_symmetric_matches_torch_ao(axis):
    from torch.ao.quantization.observer import PerChannelMinMaxObserver

    w = _x(16, 8, 3, 3, seed=1)
    obs = PerChannelMinMaxObserver(ch_axis=axis, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    obs(w)
    scale, zero = obs.calculate_qparams()
    ours = calibrate(w, bits=8, symmetric=True, axis=axis)
    torch.testing.assert_close(ours.scale, scale, rtol=0, atol=0)
    ref = torch.quantize_per_channel(w, scale, zero, axis, torch.qint8)
    assert torch.equal(quantize(w, ours), ref.int_repr().long())


def test_fake_quantize_matches_torch_and_passes_gradient_straight_through():
    x = _x(200, seed=2).requires_grad_()
    qp = calibrate(x.detach(), bits=8, symmetric=False)
    ref = torch.fake_quantize_per_tensor_affine(x.detach(), float(qp.scale), int(qp.zero_point), qp.q_min, qp.q_max)
    torch.testing.assert_close(fake_quantize(x.detach(), qp), ref, rtol=0, atol=1e-6)
    fake_quantize(x, qp, ste=True).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_zero_is_exact_and_error_at_most_half_a_step():
    x = torch.cat([torch.zeros(5), _x(500, seed=3)])
    for symmetric in (True, False):
        qp = calibrate(x, bits=8, symmetric=symmetric)
        xh = fake_quantize(x, qp)
        assert torch.all(xh[:5] == 0)
        assert float((xh - x).abs().max()) <= float(qp.scale) / 2 + 1e-6


def test_percentile_clips_outliers_and_improves_the_bulk():
    x = _x(100_000, seed=4)
    x[:10] = 400.0  # rare outliers
    lo, hi = percentile_range(x, 99.9)
    assert float(hi) < 20
    bulk = x[10:]
    mm = calibrate(x, 8, False)
    pc = qparams_from_range(lo, hi, 8, symmetric=False)
    assert sqnr_db(bulk, fake_quantize(bulk, pc)) > sqnr_db(bulk, fake_quantize(bulk, mm)) + 10


def test_sqnr_grows_about_6db_per_bit():
    x = torch.rand(200_000, generator=torch.Generator().manual_seed(5)) * 2 - 1
    s = [sqnr_db(x, fake_quantize(x, calibrate(x, b, symmetric=True))) for b in (4, 6, 8)]
    assert abs((s[2] - s[0]) / 4 - 6.02) < 0.2


def test_observer_accumulates_the_range_over_batches():
    obs = Observer("minmax")
    obs(torch.tensor([0.0, 1.0]))
    obs(torch.tensor([-2.0, 0.5]))
    qp = obs.qparams(symmetric=False, signed=False)
    assert float(qp.scale) == pytest.approx(3 / 255)
    with pytest.raises(ValueError):
        Observer("minmax").qparams()
    with pytest.raises(ValueError):
        Observer("kl")
