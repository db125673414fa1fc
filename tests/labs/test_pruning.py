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
