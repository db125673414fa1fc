"""Mixed precision: exact fp16 constants, our loss scaler follows torch.amp.GradScaler, underflow."""
import pytest
import torch

from modelbook.compression.precision import (
    FP16_MAX,
    FP16_MIN_NORMAL,
    FP16_MIN_SUBNORMAL,
    DynamicLossScaler,
    autocast_cross_entropy,
    float_extremes,
    fraction_lost_in_fp16,
    ieee754_extremes,
    train_fp16,
    worst_relative_error,
)


def test_fp16_constants():
    f = torch.finfo(torch.float16)
    assert (f.max, f.tiny) == (FP16_MAX, FP16_MIN_NORMAL)
    assert torch.tensor(FP16_MIN_SUBNORMAL, dtype=torch.float16).item() == FP16_MIN_SUBNORMAL
    assert torch.tensor(FP16_MIN_SUBNORMAL / 2.01, dtype=torch.float16).item() == 0.0  # below half the subnormal: 0
    assert torch.tensor(1e-30, dtype=torch.bfloat16).item() > 0  # bf16 keeps fp32's range


def test_fraction_lost():
    g = torch.tensor([1e-9, 1e-8, 1e-3, 0.0])
    assert fraction_lost_in_fp16(g) == pytest.approx(2 / 3)
    assert fraction_lost_in_fp16(g, scale=2.0**16) == 0.0


def test_scaler_follows_torch_gradscaler():
    """Same inf/no-inf sequence -> same scale sequence as torch.amp.GradScaler on CPU."""
    torch.manual_seed(0)
    param = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([param], lr=0.0)
    ref = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)
    ours = DynamicLossScaler(2.0**10, growth_interval=3)
    pattern = [False, False, False, True, False, False, False, False, True, True, False]
    for bad in pattern:
        opt.zero_grad()
        ref.scale((param * (float("inf") if bad else 1.0)).sum()).backward()
        ref.step(opt)
        ref.update()
        ours.update(bad)
        assert ours.scale == ref.get_scale()


def test_loss_scaling_rescues_tiny_gradients():
    torch.manual_seed(0)
    x, y = torch.randn(256, 1, 28, 28), torch.randint(0, 10, (256,))
    batches = [(x[i:i + 64], y[i:i + 64]) for i in range(0, 256, 64)] * 2

    def make():
        torch.manual_seed(1)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    plain = train_fp16(make(), batches, lr=0.05, loss_multiplier=2.0**-20)
    scaled = train_fp16(make(), batches, lr=0.05, loss_multiplier=2.0**-20, scaler=DynamicLossScaler(2.0**16, growth_interval=2))
    assert plain["zero_grad_fraction"] > 0.99 > 0.5 > scaled["zero_grad_fraction"]
    assert scaled["final_scale"] > 2.0**16


def test_autocast_cross_entropy_computes_the_forward_pass_in_bf16():
    torch.manual_seed(0)
    model = torch.nn.Linear(24, 7)
    x, y = torch.randn(16, 24), torch.randint(0, 7, (16,))
    loss = autocast_cross_entropy(model, (x, y))
    loss.backward()
    # by hand: inputs and weights rounded to bf16, products summed in fp32, logits rounded to bf16
    bf = lambda t: t.bfloat16().double()  # noqa: E731
    logits = (bf(x) @ bf(model.weight).T + bf(model.bias)).bfloat16().double()
    expected = -(logits.log_softmax(-1).gather(1, y[:, None])).mean()
    assert loss.dtype == torch.float32 and model.weight.grad.dtype == torch.float32
    assert abs(float(loss) - float(expected)) < 1e-5
    fp32 = torch.nn.functional.cross_entropy(model(x), y)
    assert abs(float(loss) - float(fp32)) > 1e-5  # the 16-bit forward pass really differs from fp32's


def test_float_extremes_measured_equal_the_ieee_formulas_and_a_wrong_format_fails():
    """The lab's number-line check: extremes measured from all bit patterns vs the format's definition."""
    fp16, bf16 = float_extremes(torch.float16), float_extremes(torch.bfloat16)
    assert fp16 == {"max": FP16_MAX, "min_normal": FP16_MIN_NORMAL, "min_subnormal": FP16_MIN_SUBNORMAL}
    assert worst_relative_error(fp16, ieee754_extremes(5, 11)) == 0.0
    assert worst_relative_error(bf16, ieee754_extremes(8, 8)) == 0.0
    assert bf16["max"] == torch.finfo(torch.bfloat16).max and bf16["min_normal"] == torch.finfo(torch.bfloat16).tiny
    # bite: the other format, or an off-by-one significand width, fails the check (tolerance 0)
    assert worst_relative_error(bf16, ieee754_extremes(5, 11)) > 1
    assert worst_relative_error(fp16, ieee754_extremes(5, 10)) > 0
    # and values past the measured extremes overflow / flush when cast
    assert torch.tensor(fp16["max"] * (1 + 2.0**-10)).half().isinf() and torch.tensor(fp16["min_subnormal"] / 2).half() == 0
