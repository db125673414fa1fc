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
    # CKKS within 1e-3 of plaintext
    assert v("ckks/max_abs_err_logit_per_sample") < 1e-3 and v("ckks/max_abs_err_logit_batched") < 1e-3
    assert {"pii_precision_recall.png", "kanonymity_loss.png"} <= set(result.artifacts)
    # the encrypted files are in the run folder, the key is not
    assert (run_dir / "encrypted" / "model.safetensors.enc").is_file()
    assert not list(run_dir.rglob("*.key"))
