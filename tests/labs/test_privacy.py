"""Lab `privacy`: measured outcomes beyond the contract."""


def test_privacy_lab_outcomes(quick_result):
    result, run_dir = quick_result("privacy")
    v = result.value
    # PII: patterns with checksums are precise; the checksum is what makes them precise
    assert v("pii/phone_precision") >= 0.95 and v("pii/email_recall") >= 0.95
    assert v("pii/id_cn_precision") == 1.0 > v("pii/id_cn_precision_regex_only")
    assert v("pii/bank_card_precision") == 1.0 > v("pii/bank_card_precision_regex_only")
    # k-anonymity: half the ACS respondents are unique before; k is reached; Mondrian loses less
    assert 0.5 < v("kanon/unique_fraction_raw") < 0.6
    assert v("kanon/k_reached_full_domain") >= v("kanon/k_target") <= v("kanon/k_reached_mondrian")
    assert v("kanon/ncp_mondrian") < v("kanon/ncp_full_domain") < 1
    assert v("kanon/homogeneous_fraction_disability") > 0  # k-anonymity still discloses by homogeneity
    # AES-GCM: every tampering case caught
    assert v("aes/tamper_detected") == v("aes/tamper_cases") == 7
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
    # CKKS within 1e-3 of plaintext
    assert v("ckks/max_abs_err_logit_per_sample") < 1e-3 and v("ckks/max_abs_err_logit_batched") < 1e-3
    assert {"pii_precision_recall.png", "privacy_utility.png", "membership_roc.png", "fedavg.png"} <= set(result.artifacts)
    # the encrypted files are in the run folder, the key is not
    assert (run_dir / "encrypted" / "model.safetensors.enc").is_file()
    assert not list(run_dir.rglob("*.key"))
