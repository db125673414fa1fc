"""Lab `interpret`: measured outcomes beyond the contract."""


def test_interpret_lab_outcomes(quick_result):
    result, _ = quick_result("interpret")
    v = result.value
    assert v("ig/max_rel_diff_vs_captum") < 1e-6
    assert v("ig/completeness_gap_max") < 0.01
    assert abs(v("ig/captum_trapezoid_over_ours_m32") - 31 / 32) < 1e-3
    assert v("deletion/auc_integrated_gradients") < v("deletion/auc_random")
    assert v("deletion/auc_saliency") < v("deletion/auc_random")
    assert v("deletion/auc_grad_x_input") < v("deletion/auc_random")
    # tabular: each patient's own SHAP ranking deletes the evidence fastest; one global ranking is slower
    assert v("deletion/tabular_auc_shap") < v("deletion/tabular_auc_permutation") < v("deletion/tabular_auc_random")
    assert v("deletion/tabular_auc_lime") < v("deletion/tabular_auc_random")
    assert v("sanity/gradient_spearman_after_conv1") < 0.5 < v("sanity/integrated_gradients_spearman_after_conv1")
    assert v("tabular/shap_additivity_max_abs_err") < 1e-6 and v("tabular/gbm_test_auc") > 0.95
    assert v("tabular/perm_vs_shap_weighted_kendall") > 0.5 and v("tabular/perm_vs_shap_spearman") > 0.3
    assert 0 < v("lime/top5_jaccard_across_seeds") <= 1
    assert v("attention/kendall_received_vs_loo_mean") < 0.5 and v("attention/special_token_share_max_layer") > 0.3
    assert len(result.artifacts) == 6
