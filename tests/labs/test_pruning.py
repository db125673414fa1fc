"""Lab `pruning`: the issue's outcomes on the quick preset."""


def test_pruning_lab_outcomes(quick_result):
    result, _ = quick_result("pruning")
    v = result.value
    assert v("masks/mismatches_vs_torch_prune") == 0  # masks equal torch.nn.utils.prune's
    # structured pruning gives a measurably smaller model: fewer parameters and FLOPs ...
    assert v("structured/structured/params") < 0.35 * v("structured/dense/params")
    assert v("structured/structured/flops") < 0.35 * v("structured/dense/flops")
    assert v("structured/unstructured/flops") == v("structured/dense/flops")  # masks do not shrink the work
    # (the speed-up, the 12x accuracy and adaptive vs global are the lab's own checks); global beats uniform at 80%
    assert v("lenet/accuracy/global_no_finetune/sparsity_0.800") > v("lenet/accuracy/layer_wise_no_finetune/sparsity_0.800")
    # adaptive (sensitivity-driven) allocation: far above uniform, exactly the overall sparsity; read upside down it
    # prunes the output layer first and falls to chance
    assert v("adaptive/mean_accuracy/adaptive") > v("adaptive/mean_accuracy/uniform") + 0.05
    assert v("adaptive/removed_minus_target_max") == 0
    assert v("adaptive/mean_accuracy/inverted_ranking_init0") < 0.2
    assert v("structured/speedup_interval_low") <= v("structured/speedup") <= v("structured/speedup_interval_high")
    # lottery ticket >= random re-initialisation at ~20% density
    assert 0.1 <= v("lottery/density") <= 0.3
    assert v("lottery/ticket_accuracy_mean") >= v("lottery/random_reinit_accuracy_mean")
    # heads: physically removed = gated, least important beats random
    assert v("heads/removed_0.25/gated_vs_removed") < 1e-5
    assert v("heads/removed_0.25/params_removed") > 0
    assert v("heads/removed_0.25/cosine") >= v("heads/removed_0.25/random_cosine")
    assert v("heads/removed_0.25/recall") >= v("heads/retrieval_recall_at_1_unpruned") - 0.05


def test_structured_parameter_check_fails_when_a_layer_is_not_pruned():
    """The lab's check: parameters of the pruned CNN = those of a CNN built at the kept widths. A pruning that
    forgets a layer (the hidden Linear keeps all its units) fails it."""
    import torch

    from modelbook.compression.structured import kept_units, prune_sequential
    from modelbook.compression.workbench import n_params, small_cnn

    torch.manual_seed(0)
    widths, keep = (8, 16, 64), 0.5
    cnn = small_cnn(*widths)
    reference = n_params(small_cnn(*kept_units(widths, keep)))
    assert n_params(prune_sequential(cnn, keep)) == reference
    forgot_fc1 = prune_sequential(cnn, {0: keep, 3: keep})  # positions of the two convs only
    assert n_params(forgot_fc1) != reference
    assert n_params(prune_sequential(cnn, 0.6)) != reference


def test_head_parameter_check_fails_when_w_o_is_not_shrunk(single_thread):
    """The lab's check: parameters removed with k heads = k · head_parameters(d_model, d_head), counted on the two
    models. A removal that leaves W_O's columns fails it."""
    import copy

    import torch

    from modelbook.compression.structured import head_parameters, remove_heads_
    from modelbook.nn.bert import BertEncoder

    torch.manual_seed(0)
    bert = BertEncoder(vocab_size=50, d_model=32, n_layers=2, n_heads=4, d_ff=64)
    heads = {0: [1], 1: [0, 3]}
    count = sum(p.numel() for p in bert.parameters())
    pruned = copy.deepcopy(bert)
    remove_heads_(pruned, heads)
    per_head = head_parameters(32, bert.layers[0].head_dim)
    assert count - sum(p.numel() for p in pruned.parameters()) == 3 * per_head
    pruned.layers[1].out = copy.deepcopy(bert.layers[1].out)  # the fault: W_O keeps the removed heads' columns
    assert count - sum(p.numel() for p in pruned.parameters()) != 3 * per_head


def _quick_lenet(seed=0):
    import torch

    from modelbook.compression import workbench as wb
    from modelbook.labs.pruning import PRESETS

    cfg = PRESETS["quick"]
    split = wb.fashion_split(cfg.n_train, cfg.n_test, seed)
    torch.manual_seed(seed)
    return wb.train(wb.lenet_300_100(), split, cfg.n_epochs, seed, lr=cfg.lr), split, cfg


def test_adaptive_checks_fail_when_the_sensitivity_ranking_is_inverted(single_thread):
    """The lab's checks: adaptive >= uniform, and >= global within the margin. An allocation that reads the
    sensitivity scan upside down (the most sensitive layers pruned first) fails both; the right one passes."""
    import numpy as np

    from modelbook.core.result import LabResult
    from modelbook.labs.pruning import allocation_checks, compare_allocations

    dense, split, cfg = _quick_lenet()
    right = compare_allocations(dense, split, cfg)
    wrong = compare_allocations(dense, split, cfg, invert=True, costs=right["costs"])
    for run, should_pass in ((right, True), (wrong, False)):
        result = LabResult("pruning", cfg)
        allocation_checks(result, {a: float(np.mean(v)) for a, v in run["accuracy"].items()}, cfg)
        assert [c.passed for c in result.checks] == [should_pass, should_pass]
    # the inverted allocation removes the same number of weights: the fault is where, not how many
    assert [sum(r.values()) for r in wrong["removed"]] == [sum(r.values()) for r in right["removed"]]


def test_speedup_check_fails_when_the_structured_model_is_not_smaller(single_thread):
    """The lab's check: the low end of the interval for the median dense/pruned time ratio must clear
    SPEEDUP_FLOOR. A "structured" model that kept every unit (the same shapes as the dense one) fails it, and so
    does one that grew. (Tests never assert that a real speed-up shows: the CPU in CI may differ.)"""
    import torch

    from modelbook.compression import workbench as wb
    from modelbook.compression.structured import prune_sequential
    from modelbook.core.result import LabResult
    from modelbook.labs.pruning import LATENCY_BATCH, PRESETS, speedup_check, speedup_interval

    cfg = PRESETS["quick"]
    torch.manual_seed(0)
    cnn = wb.small_cnn(*cfg.cnn).eval()
    batch = torch.rand(LATENCY_BATCH, 1, 28, 28)
    for not_smaller in (prune_sequential(cnn, 1.0), wb.small_cnn(cfg.cnn[0], cfg.cnn[1], 2 * cfg.cnn[2])):
        assert wb.n_params(not_smaller) >= wb.n_params(cnn)
        result = LabResult("pruning", cfg)
        _, low, _ = speedup_interval(cnn, not_smaller, batch, cfg.speedup_pairs)
        speedup_check(result, low, 1.0, cfg)
        assert not result.checks[0].passed


def test_accuracy_loss_bound_fails_a_real_loss_and_passes_noise():
    """The 12x checks: the lower 99% bound of dense − pruned accuracy, paired on the test images, must stay within
    0.01. A pruned net that gets 4% of the images wrong on top of the dense net's errors fails; one that swaps which
    images it gets wrong (1% each way, no loss on average) passes, though its raw accuracy may dip below the dense."""
    import numpy as np

    from modelbook.labs.pruning import accuracy_loss_bound

    rng = np.random.default_rng(0)
    dense = (rng.random(2000) < 0.8).astype(float)
    lossy = dense.copy()
    lossy[rng.choice(np.flatnonzero(dense == 1), 80, replace=False)] = 0  # 4 points lost
    assert accuracy_loss_bound(dense, lossy) > 0.01
    noisy = dense.copy()
    noisy[rng.choice(np.flatnonzero(dense == 1), 20, replace=False)] = 0
    noisy[rng.choice(np.flatnonzero(dense == 0), 20, replace=False)] = 1
    assert accuracy_loss_bound(dense, noisy) <= 0.01
