"""μP for the small GPT (modelbook.scaling.mup): the coordinate check of Yang et al. 2022, and μP at base width
is the standard GPT weight for weight."""
import numpy as np
import pytest
import torch

from modelbook.nn.gpt import GPT, GPTConfig
from modelbook.scaling.mup import MuGPT, coordinate_check, lr_multipliers, param_groups

V, T = 50, 16
WIDTHS = (32, 64, 128, 256)


def _cfg(width: int, attention: str = "math") -> GPTConfig:
    return GPTConfig(vocab_size=V, block_size=T, n_layer=2, n_head=4, d_model=width, attention=attention)


def test_mup_at_base_width_is_the_standard_gpt(single_thread):
    torch.manual_seed(0)
    gpt = GPT(_cfg(64))
    torch.manual_seed(0)
    mu = MuGPT(_cfg(64), base_width=64, mup=True)
    for (name, p), q in zip(gpt.named_parameters(), mu.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)
    idx = torch.randint(0, V, (3, T))
    torch.testing.assert_close(mu(idx), gpt(idx))
    assert {g["lr"] for g in param_groups(mu, 1e-3)} == {1e-3}


def test_sdpa_and_written_out_attention_agree_under_mup(single_thread):
    torch.manual_seed(1)
    a = MuGPT(_cfg(128), base_width=32).double()
    b = MuGPT(_cfg(128, "sdpa"), base_width=32).double()
    b.load_state_dict(a.state_dict())
    idx = torch.randint(0, V, (2, T))
    torch.testing.assert_close(a(idx), b(idx))


def test_step_size_multipliers_follow_table_3():
    model = MuGPT(_cfg(128), base_width=32)          # m = 4
    mults = lr_multipliers(model)
    assert mults["blocks.0.qkv.weight"] == mults["blocks.1.fc2.weight"] == 0.25
    for name in ("tok_emb.weight", "pos_emb.weight", "blocks.0.qkv.bias", "blocks.0.ln1.weight", "lm_head.weight"):
        assert mults[name] == 1.0
    assert set(lr_multipliers(MuGPT(_cfg(128), base_width=32, mup=False)).values()) == {1.0}
    # readout: init variance of the base width, output divided by m
    assert model.width_mult == 4.0
    bound = model.lm_head.weight.abs().max().item()
    assert bound <= 1 / np.sqrt(32) and bound > 0.9 / np.sqrt(32)


def _slopes(mup: bool, width_mult_off: bool = False) -> dict[str, float]:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randint(0, V, (8, T), generator=gen), torch.randint(0, V, (8, T), generator=gen)
    sizes = {}
    for w in WIDTHS:
        torch.manual_seed(0)
        model = MuGPT(_cfg(w), base_width=WIDTHS[0], mup=mup)
        if width_mult_off:
            model.width_mult = 1.0              # the fault: no readout multiplier and no 1/m step size
        sizes[w] = coordinate_check(model, x, y, lr=1e-3, steps=2)
    logw = np.log2(WIDTHS)
    return {act: np.polyfit(logw, np.log2([sizes[w][act][-1] for w in WIDTHS]), 1)[0] for act in ("logits", "residual")}


def test_coordinate_check_grows_with_width_under_sp_and_stays_flat_under_mup(single_thread):
    """Yang et al. 2022, Fig. 5: after Adam steps the activations' change per coordinate grows with width under
    SP (the logits ∝ width: slope ≈ 1 in log-log) and does not grow under μP."""
    sp, mup = _slopes(mup=False), _slopes(mup=True)
    assert sp["logits"] > 0.75 and sp["residual"] > 0.5
    assert mup["logits"] < 0.1 and mup["residual"] < 0.1


def test_coordinate_check_catches_mup_without_its_width_multiplier(single_thread):
    broken = _slopes(mup=True, width_mult_off=True)
    assert broken["logits"] > 0.5


def test_width_not_a_multiple_of_the_heads_is_an_error():
    with pytest.raises(ValueError, match="multiples of n_head"):
        MuGPT(_cfg(30), base_width=32)
