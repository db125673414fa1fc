"""Lab `moe`: measured outcomes beyond the contract, and a bite test for each check that is not a library equality."""
import numpy as np
import torch


def test_moe_lab_outcomes(quick_result):
    result, _ = quick_result("moe")
    v = result.value
    # the balancing loss (and the bias) raise the expert-load entropy over no balancing, paired over inits
    assert v("balance/switch_load_entropy") > v("balance/none_load_entropy")
    assert v("balance/bias_load_entropy") > v("balance/none_load_entropy")
    assert v("balance/switch_entropy_gain_lower") > 0 and v("balance/bias_entropy_gain_lower") > 0
    # collapse: without balancing the busiest of 8 experts takes far more than 1/8 of the tokens
    assert v("balance/none_busiest_expert_share") > 2 / 8 > v("balance/bias_busiest_expert_share")
    # more capacity, fewer drops; a balanced router drops fewer than the collapsed one at every factor
    for variant in ("none", "switch", "bias"):
        assert v(f"capacity/{variant}_dropped_share_cf1") >= v(f"capacity/{variant}_dropped_share_cf1.25") \
            >= v(f"capacity/{variant}_dropped_share_cf2")
    for cf in ("1", "1.25", "2"):
        assert v(f"capacity/none_dropped_share_cf{cf}") > v(f"capacity/switch_dropped_share_cf{cf}")
    # FLOPs follow active parameters: the MoE's step costs about the dense equal-active one's, far below equal-total
    assert v("flops/moe_per_step_counted") < 1.05 * v("flops/dense_equal_active_per_step_counted")
    assert v("flops/dense_equal_total_per_step_counted") > 2 * v("flops/moe_per_step_counted")
    assert 46 < v("mixtral_8x7b/total_params_billion") < 47.5 and 12.5 < v("mixtral_8x7b/active_params_billion") < 13.5
    assert {"expert_loads.png", "capacity.png"} <= {a.rsplit("/", 1)[-1] for a in result.artifacts}


def test_collapse_check_fails_for_a_balanced_router(quick_result):
    """Bite: the collapse check (busiest expert's share ≥ 2/E) passes for the unbalanced runs and fails when it is fed
    the bias-balanced runs' share instead (labels swapped)."""
    result, _ = quick_result("moe")
    check = next(c for c in result.checks if c.name.startswith("router collapse"))
    assert check.passed
    assert check.measured == result.value("balance/none_busiest_expert_share")
    assert result.value("balance/bias_busiest_expert_share") < check.reference


def test_capacity_ordering_check_fails_with_swapped_labels(quick_result):
    """Bite: the paired 'collapsed drops more than balanced' bound is negative when the two models' labels are swapped."""
    from modelbook.labs.moe import paired_gain

    result, _ = quick_result("moe")
    none, switch = result.value("capacity/none_dropped_share_cf1"), result.value("capacity/switch_dropped_share_cf1")
    assert paired_gain([none - switch] * 2 + [none - switch + 0.01])["lower"] > 0
    assert paired_gain([switch - none] * 2 + [switch - none + 0.01])["lower"] < 0


def test_entropy_gain_check_fails_when_balancing_is_switched_off(single_thread):
    """Bite: with the balancing switched off (α = 0, γ = 0) the 'balanced' runs are just unbalanced runs from other
    inits; the 95% lower bound of their paired entropy gain over the unbalanced runs is not above 0."""
    from modelbook.labs.moe import PRESETS, _data, _gpt, _switch_cfg, paired_gain, train_lm
    from modelbook.nn.moe import load_entropy, moe_gpt, routed_loads

    cfg = PRESETS["quick"]
    vocab, train, val = _data(cfg)
    entropies = {"none": [], "switched_off": []}
    for i in range(cfg.n_inits):
        for name, stream in (("none", i), ("switched_off", 1000 + i)):   # the fault: no α, no γ, only another init
            model = moe_gpt(_gpt(cfg, len(vocab)), _switch_cfg(cfg))
            train_lm(model, train, cfg.block, cfg.batch, cfg.balance_steps, cfg.lr, stream)
            entropies[name].append(np.mean([load_entropy(c) for c in routed_loads(model, val, cfg.block)]))
    gain = paired_gain(np.array(entropies["switched_off"]) - np.array(entropies["none"]))
    assert gain["lower"] < 0


def test_switch_loss_loop_check_fails_for_a_wrong_formula():
    """Bite: the per-token loop agrees with switch_loss to 1e-6 and disagrees with a wrong formula that uses the
    probabilities for f as well (E·Σ P², what one gets by making f differentiable naively)."""
    from modelbook.labs.moe import switch_loss_by_loop
    from modelbook.nn.moe import route, switch_loss

    r = route(torch.randn(500, 8, generator=torch.Generator().manual_seed(0)) * 3, 1, normalize=False)
    loop = switch_loss_by_loop(r.scores.double().numpy(), r.experts.numpy(), 8)
    assert abs(float(switch_loss(r.scores, r.experts, 8)) - loop) <= 1e-6
    wrong = float(8 * (r.scores.mean(0) ** 2).sum())
    assert abs(wrong - loop) > 1e-6


def test_dropped_count_check_fails_for_an_off_by_one_buffer():
    """Bite: a queue that admits position C (≤ instead of <) keeps one assignment too many per full expert, so its
    dropped count no longer equals Σ max(0, n_e − C)."""
    import torch.nn.functional as F

    from modelbook.labs.moe import dropped_by_formula
    from modelbook.nn.moe import capacity, capacity_keep, expert_counts, route

    r = route(torch.randn(300, 8, generator=torch.Generator().manual_seed(1)) * 2, 2)
    cap = capacity(300, 2, 8, 1.0)
    counts = expert_counts(r.experts, 8)
    assert int((~capacity_keep(r.experts, 8, cap)).sum()) == dropped_by_formula(counts, cap) > 0
    by_rank = r.experts.t().flatten()
    one_hot = F.one_hot(by_rank, 8)
    position = (one_hot.cumsum(0) * one_hot).sum(-1) - 1
    off_by_one = int((position > cap).sum())                       # the fault: position ≤ cap kept
    assert off_by_one != dropped_by_formula(counts, cap)


def test_flops_check_fails_when_every_expert_is_counted():
    """Bite: torch's counter sees k experts per token; a formula charging all E (total instead of active parameters)
    misses it by far more than the check allows (0)."""
    from modelbook.nn.gpt import GPTConfig
    from modelbook.nn.moe import MoEConfig, count_train_flops, moe_gpt, train_flops

    gpt = GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, d_model=8, attention="math")
    moe = MoEConfig(8, 8, 4, 2)
    torch.manual_seed(0)
    counted = count_train_flops(moe_gpt(gpt, moe), torch.randint(0, 20, (2, 8)))
    assert counted == train_flops(gpt, moe, 2, 8)["total"]
    all_experts = MoEConfig(8, 8, 4, 4)                            # the fault: every expert charged per token
    assert abs(train_flops(gpt, all_experts, 2, 8)["total"] - counted) / counted > 0.05


def test_mixtral_parameter_check_fails_when_all_experts_count_as_active():
    from modelbook.labs.moe import MIXTRAL_8X7B, MIXTRAL_PUBLISHED
    from modelbook.nn.moe import mixtral_params

    assert abs(mixtral_params(**MIXTRAL_8X7B)["active"] - MIXTRAL_PUBLISHED["active"]) <= 0.5e9
    wrong = mixtral_params(**dict(MIXTRAL_8X7B, top_k=8))["active"]   # the fault: all 8 experts active
    assert abs(wrong - MIXTRAL_PUBLISHED["active"]) > 0.5e9


def test_moe_vs_dense_check_fails_for_a_noise_only_comparison(single_thread):
    """Bite for the full preset's 'MoE beats dense at equal active parameters' bound: two dense models of the same
    size from different inits (no MoE at all) do not clear a 95% lower bound of 0 over 3 paired inits."""
    from modelbook.labs.moe import PRESETS, _data, _gpt, paired_gain, train_lm
    from modelbook.nlp.charlm import evaluate
    from modelbook.nn.moe import MoEConfig, moe_gpt

    cfg = PRESETS["quick"]
    vocab, train, val = _data(cfg)
    dense = MoEConfig(cfg.d_model, 2 * cfg.d_model, 1, 1)
    losses = {"a": [], "b": []}
    for i in range(cfg.n_inits):
        for name, stream in (("a", i), ("b", 500 + i)):           # the fault: "MoE" is another dense init
            model = moe_gpt(_gpt(cfg, len(vocab)), dense)
            train_lm(model, train, cfg.block, cfg.batch, cfg.balance_steps, cfg.lr, stream)
            losses[name].append(evaluate(model, val, cfg.block))
    assert paired_gain(np.array(losses["a"]) - np.array(losses["b"]))["lower"] < 0


def test_expert_parallel_bytes_check_fails_when_on_rank_rows_are_counted():
    """Bite: the off-rank bytes of an even router match 2·N·k·d·4·(W−1)/W within the check's 5%; counting every
    row handed to the all-to-all (including those that stay on the rank) is W/(W−1) = 2× off."""
    from modelbook.distributed.expert_parallel import off_rank_bytes_formula, send_sizes_by_rank
    from modelbook.labs.moe import EP_BYTES_TOL
    from modelbook.nn.moe import MoEConfig, SparseMoE, route

    torch.manual_seed(0)
    moe = SparseMoE(MoEConfig(16, 8, 8, 2))
    n, world = 4096, 2
    sizes = [send_sizes_by_rank(route(moe.router(torch.randn(n, 16, generator=torch.Generator().manual_seed(r))), 2).experts,
                                8, world) for r in range(world)]
    # rank 0: rows it sends to rank 1 (dispatch) + rows rank 1 sends it (they go back as combine)
    off_rows = int(sizes[0][1] + sizes[1][0])
    formula = off_rank_bytes_formula(n, 2, 16, 4, world)
    assert abs(off_rows * 16 * 4 - formula) / formula <= EP_BYTES_TOL
    every_row = int(sizes[0].sum() + sizes[0][0] + sizes[1][0])   # the fault: on-rank rows counted both ways
    assert abs(every_row * 16 * 4 - formula) / formula > EP_BYTES_TOL


def test_equal_flops_check_fails_when_the_moe_is_charged_for_every_expert(single_thread):
    """Bite for the full preset's equal-compute check: after the same steps, the MoE's loss is below the equal-total
    dense model's loss read at the MoE's training FLOPs; charging the MoE for all E experts (its FLOPs counted from
    total parameters, the equal-total model's own cost) turns the comparison into one at equal steps, which fails."""
    from dataclasses import replace

    from modelbook.labs.moe import PRESETS, EvalAlong, _data, _gpt, _lm_cfgs, loss_at_flops, train_lm
    from modelbook.nn.moe import moe_gpt, train_flops

    cfg = replace(PRESETS["quick"], lm_steps=100)
    vocab, train, val = _data(cfg)
    gpt = _gpt(cfg, len(vocab), lm=True)
    points = [25, 50, 75, 100]
    curves, flops = {}, {}
    for name in ("moe", "dense_equal_total"):
        moe = _lm_cfgs(cfg)[name]
        ev = EvalAlong(val, cfg.lm_block, points)
        train_lm(moe_gpt(gpt, moe), train, cfg.lm_block, cfg.lm_batch, cfg.lm_steps, cfg.lr, 0,
                 alpha=cfg.aux_alpha if moe.n_experts > 1 else 0.0, callbacks=[ev])
        curves[name] = [nats for _, nats in ev.curve]
        flops[name] = train_flops(gpt, moe, cfg.lm_batch, cfg.lm_block)["total"]
    dense_flops = [flops["dense_equal_total"] * s for s in points]
    moe_loss = curves["moe"][-1]
    assert moe_loss <= loss_at_flops(dense_flops, curves["dense_equal_total"], flops["moe"] * points[-1])
    charged_for_all = flops["dense_equal_total"] * points[-1]          # the fault: the MoE billed as its total size
    assert moe_loss > loss_at_flops(dense_flops, curves["dense_equal_total"], charged_for_all)
