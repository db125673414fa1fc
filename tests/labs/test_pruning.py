"""Lab `pruning`: the issue's outcomes on the quick preset."""


def test_pruning_lab_outcomes(quick_result):
    result, _ = quick_result("pruning")
    v = result.value
    assert v("masks/mismatches_vs_torch_prune") == 0  # masks equal torch.nn.utils.prune's
    # structured pruning gives a measurably smaller model: fewer parameters and FLOPs ...
    assert v("structured/structured/params") < 0.35 * v("structured/dense/params")
    assert v("structured/structured/flops") < 0.35 * v("structured/dense/flops")
    assert v("structured/unstructured/flops") == v("structured/dense/flops")  # masks do not shrink the work
    # ... and a faster one: dense and structured timed alternately in one run (medians of 9), so a busy machine
    # slows both alike; ~0.27x the FLOPs measured ~1.6x as fast on 2 cores
    assert v("structured/speedup") > 1.1
    # 12x fewer weights at (nearly) the dense accuracy after fine-tuning; global beats uniform without it (at 80%)
    han = "0.918"
    assert v(f"lenet/accuracy/global_fine_tune/sparsity_{han}") >= v("lenet/dense_accuracy") - 0.01
    assert v("lenet/accuracy/global_no_finetune/sparsity_0.800") > v("lenet/accuracy/layer_wise_no_finetune/sparsity_0.800")
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
