"""Quantized linear layers vs torch.ao / torchao on the same weights and inputs."""
import os
import warnings

import pytest
import torch
from torch import nn

from modelbook.compression.qlinear import (
    Int4GroupLinear,
    Int8DynamicLinear,
    Int8WeightOnlyLinear,
    QuantizedEmbedding,
    dynamic_activation_qparams,
    model_bytes,
    pack_int4,
    quantize_linears,
    restore,
    unpack_int4,
)
from tests.conftest import pinned


def _stack(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(96, 192), nn.ReLU(), nn.Linear(192, 64)).eval()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dynamic_int8_stack_matches_torch_ao_quantize_dynamic(seed):
    stack = _stack(seed)
    x = torch.randn(32, 96, generator=torch.Generator().manual_seed(seed)) * 2 + 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.ao.quantization.quantize_dynamic(stack, {nn.Linear}, dtype=torch.qint8)
        ours = nn.Sequential(Int8DynamicLinear(stack[0]), nn.ReLU(), Int8DynamicLinear(stack[2]))
        with torch.no_grad():
            want, got, exact = ref(x), ours(x), stack(x)
        # the same integer weights
        assert torch.equal(ours[0].qweight, ref[0].weight().int_repr())
    # fbgemm multiplies by 1/scale where we divide: a rare activation lands one step apart, so allow 1e-4
    # (the int8-vs-fp32 error itself is ~1e-2)
    assert float((got - want).abs().max()) < 1e-4 < float((exact - want).abs().max())


def test_dynamic_activation_qparams_cover_zero_and_use_7_bits():
    s, z = dynamic_activation_qparams(torch.tensor([0.5, 2.0]))  # all positive: 0 must still be representable
    assert z == 0 and s == pytest.approx(2.0 / 127)
    s, z = dynamic_activation_qparams(torch.tensor([-1.0, 1.0]), reduce_range=False)
    assert 0 <= z <= 255 and s == pytest.approx(2 / 255)


def test_int4_pack_roundtrip():
    q = torch.randint(0, 16, (5, 12), generator=torch.Generator().manual_seed(0))
    packed = pack_int4(q)
    assert packed.dtype == torch.uint8 and packed.shape == (5, 6)
    assert torch.equal(unpack_int4(packed).long(), q)


@pytest.mark.parametrize("mode", ["asym", "sym", "float"])
def test_int4_error_bounded_by_half_a_step(mode):
    lin = nn.Linear(128, 16)
    q = Int4GroupLinear(lin, group_size=32, mode=mode)
    w = lin.weight.detach()
    err = (q.dequantize_rows() - w).abs().reshape(16, 4, 32).amax(-1)
    # half a step, plus the fp16 rounding of the scale (and offset) times the largest code
    step = q.scale.float()
    assert torch.all(err <= step / 2 + 16 * step * 2**-11 + 2e-4)
    x = torch.randn(3, 128)
    torch.testing.assert_close(q(x), nn.functional.linear(x, q.dequantize_rows(), lin.bias.detach()))


def test_int8_weight_only_error_and_size():
    lin = nn.Linear(64, 32)
    q = Int8WeightOnlyLinear(lin)
    assert float((q.dequantize_rows() - lin.weight.detach()).abs().max()) <= float(q.scale.max()) / 2 + 1e-7
    assert model_bytes(q) == 64 * 32 + 4 * 32 + 4 * 32  # int8 weights, fp32 scales, fp32 bias


def test_model_bytes_reads_the_stored_dtype_so_a_wide_int8_store_fails_the_size_check(tmp_path):
    """The lab's SmolLM2 size check (int8 / fp32 = 0.25 ± 0.01) counts the bytes of the real tensors: they equal
    what safetensors writes, and codes kept in int32 instead of int8 fail it."""
    from safetensors.torch import save_file

    lin = nn.Linear(512, 512, bias=False)
    q = Int8WeightOnlyLinear(lin)
    save_file(dict(q.state_dict()), str(tmp_path / "q.safetensors"))
    header = int.from_bytes((tmp_path / "q.safetensors").read_bytes()[:8], "little")
    assert model_bytes(q) == (tmp_path / "q.safetensors").stat().st_size - 8 - header
    assert abs(model_bytes(q) / model_bytes(lin) - 0.25) <= 0.01
    q.qweight = q.qweight.to(torch.int32)  # the fault
    assert model_bytes(q) / model_bytes(lin) > 0.26


def test_int4_symmetric_matches_torchao_intx_weight_only():
    os.environ.setdefault("TORCHAO_FORCE_SKIP_LOADING_SO_FILES", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torchao = pinned("torchao")
        from torchao.quantization import IntxWeightOnlyConfig, quantize_
        from torchao.quantization.granularity import PerGroup
    torch.manual_seed(0)
    lin = nn.Linear(128, 24, bias=False)
    ours = Int4GroupLinear(lin, group_size=32, mode="sym")
    ref = nn.Sequential(nn.Linear(128, 24, bias=False))
    ref[0].weight.data.copy_(lin.weight.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_(ref, IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(32)))
        x = torch.randn(4, 128)
        want = ref(x)
    # the same scales (max|w| / 7.5 per group of 32) ...
    torch.testing.assert_close(ref[0].weight.scale.reshape(24, 4), ours.scale.float(), rtol=2**-11, atol=0)
    # ... and the same codes, except where a weight sits within fp16 rounding of a half-step boundary (torchao
    # keeps the scale in fp32, we store it in fp16): those move by exactly one step
    step = ours.scale.float().repeat_interleave(32, dim=1)
    diff = (ref[0].weight.dequantize() - ours.dequantize_rows()).abs() / step
    assert float(diff.max()) < 1.01, torchao.__version__
    assert float((diff > 0.01).float().mean()) < 0.02
    assert float((ours(x) - want).abs().max()) < 0.1


def test_quantize_linears_ties_embedding_and_restores():
    torch.manual_seed(0)
    emb = nn.Embedding(50, 32)
    head = nn.Linear(32, 50, bias=False)
    head.weight = emb.weight  # tied, as in SmolLM2
    model = nn.ModuleDict({"emb": emb, "body": nn.Linear(32, 32), "head": head})
    before = model_bytes(model)
    originals = quantize_linears(model, {"body": "int8", "head": "int8"})
    assert isinstance(model["emb"], QuantizedEmbedding) and isinstance(model["head"], Int8WeightOnlyLinear)
    ids = torch.tensor([[1, 7, 49]])
    torch.testing.assert_close(model["emb"](ids)[0], model["head"].dequantize_rows(ids[0]))
    assert model_bytes(model) < before / 3  # the table is stored once, in int8
    restore(model, originals)
    assert model["emb"] is emb and model_bytes(model) == before
    with pytest.raises(ValueError):
        quantize_linears(model, {"emb": "int8"})
    with pytest.raises(ValueError):
        quantize_linears(model, {"body": "int3"})
