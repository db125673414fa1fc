"""Lab `gnn`: measured outcomes beyond the contract."""


def test_gnn_lab_outcomes(quick_result):
    result, _ = quick_result("gnn")
    v = result.value
    # the layers compute the published formulas (PyG equality itself: tests/graphs/)
    assert v("equality/gcn_vs_dense_formula_max_abs_diff") <= 1e-10
    assert v("equality/gat_vs_dense_attention_max_abs_diff") <= 1e-10
    # karate: the graph alone labels the club; an MLP on identity features cannot; Zachary's min-cut: 33/34
    assert v("karate/gcn_accuracy_32_unlabelled") >= 0.9
    assert v("karate/mlp_accuracy_32_unlabelled") <= 0.6
    assert v("karate/mincut_correct_of_34") == 33
    # WordNet: the graph carries signal (homophilous edges) and GCN/GAT beat the MLP on the same features
    assert v("wordnet/edge_homophily") > 0.8
    assert v("wordnet/gcn_test_accuracy") >= v("wordnet/mlp_test_accuracy") + 0.1
    assert v("wordnet/gat_test_accuracy") >= v("wordnet/mlp_test_accuracy") + 0.1
    # over-smoothing: deep plain stacks collapse, residual blocks do not
    assert v("depth/plain_16_mean_cosine") > 0.8 > v("depth/residual_16_mean_cosine")
    assert v("depth/plain_16_dirichlet_energy") < v("depth/residual_16_dirichlet_energy")
    assert v("depth/residual_16_test_accuracy") > v("depth/plain_16_test_accuracy")
    # neighbour sampling: far less memory per step, accuracy close to full-batch
    assert v("sampling/memory_ratio_sampled_over_full") < 0.5
    assert v("sampling/sampled_test_accuracy") >= v("sampling/full_batch_test_accuracy") - 0.05
