"""Lab `dp-federated`: measured outcomes beyond the contract."""


def test_dp_federated_lab_outcomes(quick_result):
    result, _ = quick_result("dp-federated")
    v = result.value
    # the accountant and Opacus
    assert abs(v("accountant/golden_epsilon") - 7.32911117143) < 1e-8
    assert v("opacus/per_sample_grad_max_abs_diff") < 1e-12 and v("opacus/update_max_abs_diff_sigma1.1_same_generator") < 1e-12
    assert v("dp/epsilon_check_eps1") <= 1.0 + 1e-9
    # utility rises with epsilon; DP lowers the membership attack's AUC; FedAvg IID beats non-IID
    assert v("dp/test_acc_eps1") < v("dp/test_acc_eps8") <= v("dp/test_acc_nonprivate") + 0.02
    assert v("mia/nondp_loss_attack_auc") > v("mia/dp_eps1_loss_attack_auc")
    assert v("mia/dp_eps1_loss_attack_auc") <= v("mia/dp_auc_bound")
    assert v("fedavg/iid_rounds_to_target") <= v("fedavg/noniid_rounds_to_target")
    assert v("fedavg/noniid_label_skew_tv") > 0.4 > v("fedavg/iid_label_skew_tv")
    assert v("secagg/max_abs_diff_vs_plain_mean") < 1e-8
    assert {"privacy_utility.png", "membership_roc.png", "fedavg.png"} <= set(result.artifacts)
