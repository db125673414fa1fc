"""Our sparse MoE layer vs transformers' Mixtral block, Switch's loss vs transformers and a per-token loop, capacity
dropping vs a hand-worked case, DeepSeek-V3's bias, and the FLOP formula vs torch.utils.flop_counter."""
import math

import pytest
import torch

from modelbook.core.errors import ModelbookError
from modelbook.nn.gpt import GPTConfig
from modelbook.nn.moe import (
    MoEConfig,
    SparseMoE,
    capacity,
    capacity_keep,
    load_entropy,
    mixtral_params,
    moe_gpt,
    moe_layers,
    route,
    switch_loss,
    train_flops,
    update_bias,
)
from tests.conftest import pinned


def _mixtral_block(d=16, f=24, e=4, k=2):
    modeling = pinned("transformers.models.mixtral.modeling_mixtral")
    from transformers import MixtralConfig

    config = MixtralConfig(hidden_size=d, intermediate_size=f, num_local_experts=e, num_experts_per_tok=k)
    block = modeling.MixtralSparseMoeBlock(config)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in block.parameters():   # the experts are allocated with torch.empty: give every tensor values
            p.normal_(0, 0.3)
    return block, MoEConfig(d, f, e, k)


def test_equal_to_mixtral_sparse_moe_block():
    block, cfg = _mixtral_block()
    ours = SparseMoE(cfg).load_mixtral(block)
    x = torch.randn(3, 11, cfg.d_model, generator=torch.Generator().manual_seed(1))
    x_ref, x_ours = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ref, got = block(x_ref), ours(x_ours)
    assert float((got - ref).abs().max()) <= 1e-5
    (ref ** 2).sum().backward()
    (got ** 2).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.router.weight.grad, block.gate.weight.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.experts.gate_up.grad, block.experts.gate_up_proj.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.experts.down.grad, block.experts.down_proj.grad, rtol=1e-5, atol=1e-5)


def test_mixtral_equality_fails_without_renormalised_gates():
    """The bite: Switch-style raw gates (no renormalisation over the chosen two) differ from Mixtral's block."""
    block, cfg = _mixtral_block()
    raw = SparseMoE(MoEConfig(cfg.d_model, cfg.d_expert, cfg.n_experts, cfg.top_k, normalize=False)).load_mixtral(block)
    x = torch.randn(2, 5, cfg.d_model, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert float((raw(x) - block(x)).abs().max()) > 1e-3


def _switch_loss_loop(scores, experts, n_experts):
    """Fedus et al. eq. 4-6 token by token: f_i counts the token's chosen experts, P_i sums its probabilities."""
    n = scores.shape[0]
    f, p = [0.0] * n_experts, [0.0] * n_experts
    for t in range(n):
        for e in experts[t].tolist():
            f[e] += 1 / n
        for e in range(n_experts):
            p[e] += float(scores[t, e]) / n
    return n_experts * sum(fi * pi for fi, pi in zip(f, p))


def test_switch_loss_equals_transformers_and_a_token_loop():
    modeling = pinned("transformers.models.mixtral.modeling_mixtral")
    logits = torch.randn(57, 6, generator=torch.Generator().manual_seed(3)) * 2
    for k in (1, 2):
        r = route(logits, k)
        ours = float(switch_loss(r.scores, r.experts, 6))
        assert ours == pytest.approx(float(modeling.load_balancing_loss_func((logits,), 6, k)), abs=1e-6)
        assert ours == pytest.approx(_switch_loss_loop(r.scores, r.experts, 6), abs=1e-6)
    # uniform routing is the minimum k: f_i = k/E, P_i = 1/E
    even = route(torch.zeros(6, 6), 1)
    even.experts = torch.arange(6)[:, None]
    assert float(switch_loss(even.scores, even.experts, 6)) == pytest.approx(1.0)


def test_capacity_drops_the_hand_worked_case():
    # 4 tokens, 3 experts, top-2; capacity ⌈1.0 · 4 · 2 / 3⌉ = 3 ... we use cf = 0.75 → ⌈2⌉ = 2 per expert
    experts = torch.tensor([[0, 1], [0, 2], [0, 1], [1, 0]])
    cap = capacity(4, 2, 3, 0.75)
    assert cap == 2
    # queue of expert 0: t0, t1, t2 (first choices), then t3 (second choice) -> t2 and t3 dropped
    # queue of expert 1: t3 (first choice), then t0, t2 (second choices)  -> t2 dropped; expert 2: t1 only
    keep = capacity_keep(experts, 3, cap)
    assert keep.tolist() == [[True, True], [True, True], [False, False], [True, False]]
    assert capacity(4, 2, 3, 1.0) == 3 and capacity_keep(experts, 3, 3).sum() == 7   # only expert 0's fourth goes


def test_dropped_tokens_pass_through_unchanged_and_are_counted():
    torch.manual_seed(4)
    moe = SparseMoE(MoEConfig(8, 12, 4, 1, normalize=False, capacity_factor=0.5))
    x = torch.randn(40, 8)
    with torch.no_grad():
        y = moe(x)
    r = route(moe.router(x), 1, normalize=False)
    keep = capacity_keep(r.experts, 4, capacity(40, 1, 4, 0.5))
    assert moe.stats.dropped == int((~keep).sum()) > 0
    assert torch.all(y[~keep[:, 0]] == 0)          # the layer adds nothing; the block's residual carries the token
    assert torch.all(y[keep[:, 0]].abs().sum(-1) > 0)


def test_bias_moves_selection_not_gate_weights():
    logits = torch.randn(30, 5, generator=torch.Generator().manual_seed(5))
    bias = torch.tensor([0.0, 0.0, 0.0, 10.0, 0.0])
    for score in ("softmax", "sigmoid"):
        plain, biased = route(logits, 2, score), route(logits, 2, score, bias=bias)
        assert torch.all((biased.experts == 3).any(-1))                      # expert 3 is now chosen by every token
        assert not torch.equal(plain.experts, biased.experts)
        s = plain.scores
        chosen = s.gather(-1, biased.experts)
        torch.testing.assert_close(biased.weights, chosen / chosen.sum(-1, keepdim=True))  # gates from s, bias-free
        assert torch.all(biased.weights < 1)


def test_bias_update_direction():
    bias = torch.zeros(4)
    update_bias(bias, torch.tensor([10, 2, 2, 2]), gamma=0.001)
    assert bias.tolist() == pytest.approx([-0.001, 0.001, 0.001, 0.001])


def test_load_entropy_bounds():
    assert load_entropy(torch.tensor([5, 5, 5, 5])) == pytest.approx(1.0)
    assert load_entropy(torch.tensor([20, 0, 0, 0])) == pytest.approx(0.0)
    assert load_entropy(torch.tensor([1, 1, 0, 0])) == pytest.approx(math.log(2) / math.log(4))


def test_single_expert_is_a_dense_swiglu_ffn():
    torch.manual_seed(6)
    moe = SparseMoE(MoEConfig(8, 16, 1, 1))
    x = torch.randn(10, 8)
    gate, up = (x @ moe.experts.gate_up[0].T).chunk(2, -1)
    dense = (torch.nn.functional.silu(gate) * up) @ moe.experts.down[0].T
    torch.testing.assert_close(moe(x), dense)


def test_train_flops_equal_the_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    gpt = GPTConfig(vocab_size=30, block_size=16, n_layer=2, n_head=2, d_model=16, attention="math")
    for moe in (MoEConfig(16, 8, 4, 2), MoEConfig(16, 32, 1, 1)):
        torch.manual_seed(7)
        model = moe_gpt(gpt, moe)
        ids = torch.randint(0, 30, (3, 16))
        counter = FlopCounterMode(display=False)
        with counter:
            model(ids, ids).backward()
        assert counter.get_total_flops() == train_flops(gpt, moe, 3, 16)["total"]
        assert all(m.stats.dropped == 0 for m in moe_layers(model))


def test_mixtral_8x7b_parameter_counts():
    """Jiang et al. 2024: 47B parameters, 13B active per token (Mixtral 8x7B's config.json shapes)."""
    p = mixtral_params(hidden=4096, intermediate=14336, layers=32, heads=32, kv_heads=8, vocab=32000, experts=8, top_k=2)
    assert p["total"] / 1e9 == pytest.approx(46.7, abs=0.05)
    assert p["active"] / 1e9 == pytest.approx(12.9, abs=0.05)


def test_bad_config_is_one_line_error():
    with pytest.raises(ModelbookError, match="top_k"):
        MoEConfig(8, 8, 4, 5)
    with pytest.raises(ModelbookError, match="score"):
        MoEConfig(8, 8, 4, 1, score="relu")
