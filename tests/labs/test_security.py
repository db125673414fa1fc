"""The security lab's quick preset."""


def test_access_audit_signing_and_robustness(quick_result):
    result, _ = quick_result("security")
    failed = [c.name for c in result.checks if not c.passed]
    assert not failed, failed
    assert result.value("audit/records") >= 6
    std, adv = result.value("standard/pgd_acc_eps0.1"), result.value("adversarial/pgd_acc_eps0.1")
    assert adv > std + 0.15
    assert result.value("standard/pgd_acc_eps0.1") <= result.value("standard/fgsm_acc_eps0.1") + 0.01
    assert result.value("standard/clean_accuracy") > result.value("adversarial/clean_accuracy")
