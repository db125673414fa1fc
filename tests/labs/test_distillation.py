"""Lab `distillation`: a student with few labels gains from a teacher's soft targets on unlabelled images, paired
over seeds; the gain check fails when the teacher knows nothing about the images (uniform or shuffled targets)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from modelbook.compression import workbench as wb
from modelbook.core.result import LabResult
from modelbook.labs import distillation as lab


def test_distillation_lab_outcomes(quick_result):
    result, _ = quick_result("distillation")
    v = result.value
    assert v("student/n_seeds") >= 3
    assert v("student/kd_minus_alone_lower_bound") > 0
    assert v("student/kd_accuracy_mean") > v("student/alone_accuracy_mean")
    assert v("teacher/accuracy") > v("student/alone_accuracy_mean")
    assert v("loss/kl_vs_torch_kl_div_abs_diff") < 1e-12
    assert abs(v("loss/grad_norm_ratio_T20_over_T10_with_T2") - 1) < 0.1
    assert v("size/params_ratio") > 3


def test_paired_gain_bound_agrees_with_scipy_paired_t_test():
    rng = np.random.default_rng(0)
    for shift in (0.0, 0.005, 0.02):
        a = rng.normal(0.8, 0.01, 5)
        b = a - shift + rng.normal(0, 0.01, 5)
        _, lower = lab.paired_gain(a, b, 0.95)
        p = stats.ttest_rel(a, b, alternative="greater").pvalue
        assert (lower > 0) == (p < 0.05)
        assert lab.paired_gain(a, b, 0.95)[0] == pytest.approx(float(np.mean(a - b)))


@pytest.fixture(scope="module")
def small_transfer():
    """1,000 transfer images, 50 of them labelled, and an oracle teacher (its logits say the true class)."""
    data = wb.fashion_split(1000, 1000, 0)
    cfg = lab.Config(n_train=1000, n_labelled=50, n_test=1000, student=(32,), student_epochs=4, n_seeds=3,
                     soft_only=False, temperatures=())
    oracle = 5.0 * F.one_hot(data.y_train, 10).float()
    return cfg, lab.few_labels(data, cfg.n_labelled), oracle


def _gain_passes(cfg, transfer, soft) -> bool:
    runs = lab.compare_students(cfg, transfer, soft)
    return lab.gain_check(LabResult("distillation", cfg), np.array(runs["kd"]), np.array(runs["alone"]), cfg.confidence).passed


def test_gain_check_passes_with_a_teacher_that_knows_the_images(small_transfer, single_thread):
    cfg, transfer, oracle = small_transfer
    assert _gain_passes(cfg, transfer, oracle)


@pytest.mark.parametrize("fault", ["uniform", "shuffled"])
def test_gain_check_fails_with_a_useless_teacher(small_transfer, fault, single_thread):
    cfg, transfer, oracle = small_transfer
    if fault == "uniform":  # a teacher that knows nothing: the same flat distribution for every image
        soft = torch.zeros_like(oracle)
    else:  # right class frequencies, wrong images: the oracle's targets permuted across the transfer set
        soft = oracle[torch.randperm(len(oracle), generator=torch.Generator().manual_seed(0))]
    assert not _gain_passes(cfg, transfer, soft)
