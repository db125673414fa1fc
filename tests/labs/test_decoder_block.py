"""Lab `decoder-block`: measured outcomes of the quick preset, and each ordering check shown to fail on a faulty
mechanism (post-LN switched off, ALiBi's slopes zeroed, NTK-aware scaling replaced by PI, SwiGLU switched off) or
on swapped labels."""
import dataclasses

import pytest
import torch


def test_decoder_block_lab_outcomes(quick_result):
    result, run_dir = quick_result("decoder-block")
    v = result.value
    # our decoder layer = transformers' LlamaDecoderLayer on all 30 SmolLM2 layers
    assert v("smollm2/layers_compared") == 30 and v("smollm2/layer_max_rel_diff") <= 1e-5
    # post-LN without warm-up is worse than pre-LN at depth: it stalls near the unigram loss
    depth = max(result.config.ln_depths)
    assert v(f"ln/depth{depth}/post_val_nats") > v(f"ln/depth{depth}/pre_val_nats") + 0.1
    assert v(f"ln/depth{depth}/smallest_post_minus_pre") > 0.1
    assert v(f"ln/depth{depth}/post_val_nats") > v("data/unigram_val_nats") - 0.1
    # ALiBi flat past L; RoPE and the learned table rise
    assert v("length/alibi/rise_L_to_4L") < 0.005
    assert min(v("length/rope/rise_L_to_4L"), v("length/learned/rise_L_to_4L")) > v("length/alibi/rise_L_to_4L") + 0.005
    # zero-shot at 4L: NTK-aware beats PI; at the training length every scaling is the plain model
    L = result.config.train_length
    assert v(f"length/rope+linear/val_nats_at_{4 * L}") > v(f"length/rope+ntk/val_nats_at_{4 * L}") + 0.03
    for kind in ("linear", "ntk", "yarn"):
        assert v(f"length/rope+{kind}/val_nats_at_{L}") == v(f"length/rope/val_nats_at_{L}")
    assert {"pre_vs_post_ln.png", "loss_vs_length.png"} <= set(result.artifacts)
    assert all((run_dir / a).is_file() for a in result.artifacts)


@pytest.fixture(scope="module")
def small():
    """The quick preset's data and config, one pair/init per comparison (enough to show a check's criterion fail)."""
    from modelbook.labs.decoder_block import PRESETS, _shakespeare

    cfg = dataclasses.replace(PRESETS["quick"], ln_inits=1, ffn_inits=1, ffn_steps=60, ffn_block=32)
    vocab, train, val = _shakespeare(cfg)
    return cfg, len(vocab), train, val


def test_pre_post_checks_fail_when_post_ln_is_switched_off(small, single_thread):
    """Both arms pre-LN (the fault): the post − pre gap and its growth with depth are 0, below the checks' margin."""
    from modelbook.labs.decoder_block import LN_GAP, gap_growth, pre_post_losses, smallest_gap

    cfg, V, train, val = small
    shallow = pre_post_losses(cfg, V, train, val, 1, 0, placements=("pre", "pre"))
    deep = pre_post_losses(cfg, V, train, val, 3, 0, placements=("pre", "pre"))
    assert smallest_gap(deep) == 0 < LN_GAP
    assert gap_growth(shallow, deep) == 0 < LN_GAP


@pytest.fixture(scope="module")
def rope(small):
    """A RoPE model trained as the quick preset trains it, and its losses at L, 2L, 4L."""
    from modelbook.core.measure import torch_threads
    from modelbook.labs.decoder_block import position_losses

    cfg, V, train, val = small
    with torch_threads(1):
        return position_losses(cfg, V, train, val, "rope", 0)


def test_alibi_flat_check_fails_when_alibi_is_switched_off(small, single_thread, monkeypatch):
    """ALiBi's slopes set to 0 (the fault: no position signal at all) no longer keep the loss flat past L."""
    import modelbook.nn.blocks as blocks
    from modelbook.labs.decoder_block import ALIBI_FLAT, position_losses

    cfg, V, train, val = small
    right = blocks.alibi_bias
    monkeypatch.setattr(blocks, "alibi_bias", lambda slopes, t: right(0 * slopes, t))
    _, losses = position_losses(cfg, V, train, val, "alibi", 0)
    assert losses[cfg.eval_factors.index(4)] - losses[0] > ALIBI_FLAT


def test_rise_check_fails_on_swapped_labels(quick_result):
    """The measured rises with RoPE's and ALiBi's labels swapped (the fault) give a negative margin."""
    from modelbook.labs.decoder_block import RISE_MARGIN, rise_margin

    result, _ = quick_result("decoder-block")
    rise = {name: result.value(f"length/{name}/rise_L_to_4L") for name in ("rope", "alibi", "learned")}
    assert rise_margin(rise) >= RISE_MARGIN
    swapped = {**rise, "rope": rise["alibi"], "alibi": rise["rope"]}
    assert rise_margin(swapped) < 0 < RISE_MARGIN


def test_ntk_check_fails_when_ntk_is_replaced_by_pi(small, rope, single_thread, monkeypatch):
    """With NTK-aware scaling replaced by PI (the fault) the two zero-shot losses at 4L are equal."""
    import modelbook.nn.positions as positions
    from modelbook.labs.decoder_block import NTK_MARGIN, scaled_rope_losses

    cfg, V, train, val = small
    L = cfg.train_length
    lengths = [f * L for f in cfg.eval_factors]
    at4 = lengths.index(4 * L)
    model = rope[0]
    right = scaled_rope_losses(model, val, L, lengths, ("linear", "ntk"))
    assert right["linear"][at4] - right["ntk"][at4] >= NTK_MARGIN
    monkeypatch.setattr(positions, "ntk_inv_freq", positions.linear_inv_freq)
    wrong = scaled_rope_losses(model, val, L, lengths, ("linear", "ntk"))
    assert wrong["linear"][at4] - wrong["ntk"][at4] < NTK_MARGIN


def test_swiglu_check_fails_when_swiglu_is_switched_off(small, single_thread):
    """Both arms GELU (the fault): the paired gap is exactly 0, below the check's margin."""
    from modelbook.labs.decoder_block import FFN_MARGIN, ffn_losses

    cfg, V, train, val = small
    losses, params = ffn_losses(cfg, V, train, val, ffns=("gelu", "gelu"))
    assert min(g - s for s, g in zip(losses["swiglu"], losses["gelu"])) == 0 < FFN_MARGIN
    assert params["swiglu"] == params["gelu"]


def test_bad_eval_factors_are_refused():
    from modelbook.core.errors import ModelbookError
    from modelbook.labs.decoder_block import PRESETS, run

    with pytest.raises(ModelbookError, match="eval_factors"):
        run(dataclasses.replace(PRESETS["quick"], eval_factors=(1, 2)), None)


def test_learned_rows_past_the_training_length_stay_at_their_initial_values(small, single_thread):
    """Why the learned table cannot extrapolate: rows ≥ L receive no gradient in training."""
    from modelbook.labs.decoder_block import _new_model
    from modelbook.nn.blocks import DecoderConfig

    cfg, V, train, val = small
    model = _new_model(DecoderConfig(V, 16, 1, 4, positions="learned", max_positions=4 * cfg.train_length), 0)
    before = model.position_table.weight.detach().clone()
    x = train[: cfg.train_length][None]
    model(x, train[1: cfg.train_length + 1][None]).backward()
    torch.optim.SGD(model.parameters(), lr=1.0).step()
    after = model.position_table.weight.detach()
    assert not after[: cfg.train_length].equal(before[: cfg.train_length])
    assert after[cfg.train_length:].equal(before[cfg.train_length:])
