"""Static PTQ: BatchNorm folding is exact; the quantized CNN stays close to the float one."""
import torch
from torch import nn

from modelbook.compression.ptq import (
    QDQLayer,
    deployable_tensors,
    fold_batchnorm,
    int8_bytes,
    saved_bytes,
    static_quantize,
    torch_ao_static_quantize,
)
from modelbook.compression.workbench import small_cnn


def _cnn():
    torch.manual_seed(0)
    cnn = small_cnn(4, 8, 16)
    with torch.no_grad():
        for m in cnn.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return cnn.eval()


def test_fold_batchnorm_is_exact():
    cnn = _cnn()
    folded = fold_batchnorm(cnn)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in folded)
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), cnn(x), rtol=1e-5, atol=1e-5)


def test_static_quantization_is_close_and_four_times_smaller():
    cnn = _cnn()
    x = torch.rand(64, 1, 28, 28)
    q = static_quantize(cnn, x[:32])
    assert sum(isinstance(m, QDQLayer) for m in q.modules()) == 4
    with torch.no_grad():
        ref, got = cnn(x), q(x)
    assert float((got - ref).abs().max()) < 0.05 * float(ref.abs().max())
    assert float((got.argmax(1) == ref.argmax(1)).float().mean()) > 0.9
    f32 = sum(p.numel() * 4 for p in fold_batchnorm(cnn).parameters())
    assert 0.24 < int8_bytes(q) / f32 < 0.3


def test_torch_ao_reference_runs_quietly_and_leaves_deterministic_mode_as_it_was(capfd):
    """torch.ao's int8 kernels print a C++ warning per call under warn-only deterministic mode (not filterable
    from Python); the reference model pauses the mode for its own calls and restores it."""
    cnn, x = _cnn(), torch.rand(64, 1, 28, 28)
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        ao = torch_ao_static_quantize(cnn, x, x[:2])
        with torch.no_grad():
            first, second = ao(x), ao(x)
        assert (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()) == (True, True)
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
    assert torch.equal(first, second)
    assert (first.argmax(-1) == cnn(x).argmax(-1)).float().mean() > 0.9
    assert "quantized_resize" not in capfd.readouterr().err


def test_saved_int8_file_is_a_quarter_of_fp32_and_a_wide_integer_store_fails(tmp_path):
    """The lab's size check reads files on disk: int8 weights stored in a wider integer type fail it, although the
    byte-counting formula (int8_bytes) would not notice."""
    cnn = small_cnn(16, 32, 128).eval()
    q = static_quantize(cnn, torch.rand(32, 1, 28, 28))
    fp32 = saved_bytes(cnn.state_dict(), tmp_path / "fp32.safetensors")
    ratio = saved_bytes(deployable_tensors(q), tmp_path / "int8.safetensors") / fp32
    assert abs(ratio - 0.25) <= 0.01  # the lab's check: reference 0.25, tolerance 0.01
    for m in q.modules():
        if isinstance(m, QDQLayer):
            m.qweight = m.qweight.to(torch.int32)  # the fault: codes kept in 32-bit integers
    wide = saved_bytes(deployable_tensors(q), tmp_path / "wide.safetensors") / fp32
    assert wide > 0.26 + 0.7 and abs(int8_bytes(q) / sum(p.numel() * 4 for p in fold_batchnorm(cnn).parameters()) - 0.25) < 0.01
