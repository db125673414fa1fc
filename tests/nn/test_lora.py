"""LoRA from scratch (modelbook.nn.lora): merge = adapter path, QLoRA over our int4 base, equal to peft's LoRA."""
import copy

import pytest
import torch
from torch import nn

from modelbook.compression.qlinear import Int4GroupLinear
from modelbook.nn.lora import (
    LoRALinear,
    count_parameters,
    inject_lora,
    lora_parameter_count,
    lora_parameters,
    merge_lora,
    training_state_bytes,
)


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 96), nn.GELU(), nn.Linear(96, 32)).eval()


def _randomise_b(adapters, seed=1):
    g = torch.Generator().manual_seed(seed)
    for a in adapters:
        with torch.no_grad():
            a.lora_B.copy_(torch.randn(a.lora_B.shape, generator=g) * 0.1)


def test_starts_at_base_and_merge_equals_adapter_path():
    model, x = _mlp(), torch.randn(5, 7, 64)
    before = model(x)
    adapters = inject_lora(model, ["0", "2"], r=4, alpha=8)
    assert torch.equal(model(x), before)  # B = 0: the pretrained function
    _randomise_b(adapters.values())
    adapted = model(x)
    assert (adapted - before).abs().max() > 1e-2
    for a in adapters.values():
        a.merge()
    assert torch.allclose(model(x), adapted, atol=1e-5, rtol=0)
    for a in adapters.values():
        a.unmerge()
    assert torch.allclose(model(x), adapted, atol=1e-5, rtol=0)
    merge_lora(model)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert torch.allclose(model(x), adapted, atol=1e-5, rtol=0)


def test_qlora_merged_linear_equals_adapter_path_and_is_smaller():
    model, x = _mlp(), torch.randn(9, 64)
    adapters = inject_lora(model, ["0", "2"], r=4, alpha=8, quantize="int4", group_size=32)
    assert all(isinstance(a.base, Int4GroupLinear) for a in adapters.values())
    _randomise_b(adapters.values())
    adapted = model(x)
    merge_lora(model)
    assert torch.allclose(model(x), adapted, atol=1e-5, rtol=0)
    with pytest.raises(TypeError, match="merged_linear"):
        LoRALinear(Int4GroupLinear(nn.Linear(64, 8))).merge()


def test_only_adapters_train_and_counts():
    model = _mlp()
    inject_lora(model, ["0", "2"], r=4)
    trainable, total = count_parameters(model)
    assert trainable == lora_parameter_count([(96, 64), (32, 96)], 4) == sum(p.numel() for p in lora_parameters(model))
    assert total == 64 * 96 + 96 + 96 * 32 + 32 + trainable
    q = _mlp()
    inject_lora(q, ["0", "2"], r=4, quantize="int4")
    assert count_parameters(q) == (trainable, total)
    assert training_state_bytes(q)["weights"] < training_state_bytes(model)["weights"] / 3


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="matches the LoRA targets"):
        inject_lora(_mlp(), ["query"])
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(nn.Linear(4, 4), r=0)


def test_equals_peft_lora_on_same_weights_and_inputs():
    """peft 0.22 LoraConfig(r, lora_alpha, target_modules) injected into a copy of the same model, its A and B set
    to ours: outputs agree to 1e-6 (fp32; the two compute the same products in the same order), with dropout off
    (eval) and on (train, same dropout mask by re-seeding)."""
    peft = pytest.importorskip("peft")
    ours, x = _mlp(), torch.randn(6, 64)
    theirs = copy.deepcopy(ours)
    adapters = inject_lora(ours, ["0", "2"], r=4, alpha=8, dropout=0.1)
    _randomise_b(adapters.values())
    cfg = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.1, target_modules=["0", "2"])
    theirs = peft.inject_adapter_in_model(cfg, theirs)
    for name, a in adapters.items():
        layer = theirs.get_submodule(name)
        with torch.no_grad():
            layer.lora_A["default"].weight.copy_(a.lora_A)
            layer.lora_B["default"].weight.copy_(a.lora_B)
        assert layer.scaling["default"] == a.scaling
    ours.eval(), theirs.eval()
    assert (ours(x) - theirs(x)).abs().max() <= 1e-6
    ours.train(), theirs.train()
    torch.manual_seed(3)
    y_ours = ours(x)
    torch.manual_seed(3)
    y_theirs = theirs(x)
    assert (y_ours - y_theirs).abs().max() <= 1e-6
    # the trainable parameters are the same in number
    assert sum(p.numel() for p in theirs.parameters() if p.requires_grad) == count_parameters(ours)[0]
