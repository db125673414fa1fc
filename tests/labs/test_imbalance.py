"""Lab `imbalance`: measured outcomes beyond the contract."""
import numpy as np

from modelbook.core.seed import rng as make_rng
from modelbook.core.train import class_weights
from modelbook.data import islr_default
from modelbook.evaluation.uncertainty import paired_lower_bound
from modelbook.labs.imbalance import (
    AUGMENTATION_MARGIN,
    PRESETS,
    SNEAKER,
    _standardised_split,
    image_draw,
    mean_interval,
    threshold_vs_weights,
)


def test_imbalance_lab_outcomes(quick_result):
    result, run_dir = quick_result("imbalance")
    v = result.value
    for data in ("Default", "lending_club"):
        # class weights raise minority recall at 0.5 far above the plain model's
        assert v(f"{data}/class weights/recall@0.5") > v(f"{data}/plain/recall@0.5") + 0.3
        # ... while the ranking barely moves
        assert abs(v(f"{data}/class weights/pr_auc") - v(f"{data}/plain/pr_auc")) < 0.02
        # threshold moving does the same job as reweighting (paired over resplits)
        assert abs(v(f"{data}/threshold_vs_weights/mean_balanced_acc_diff")) < 0.03
        # resampling changes the training size as it should
        n = v(f"{data}/plain/train_size")
        assert v(f"{data}/random undersampling/train_size") < 0.15 * n < n < v(f"{data}/SMOTE/train_size")
    # undersampling throws data away: harmless with Default's 3 features, costly with lending_club's 85
    assert v("lending_club/random undersampling/pr_auc") < v("lending_club/plain/pr_auc")
    assert abs(v("islr/beta0") + 10.6513) < 5e-4
    # the rare image class: little without help, much more with oversampling (means over paired draws)
    assert v("images/plain/minority_recall") < 0.3
    assert v("images/oversampling_minus_plain/lower95") > 0 and v("images/oversampling_minus_plain/mean") > 0.2
    assert min(v("images/oversampling/minority_recall"), v("images/oversampling + augmentation/minority_recall")) > v("images/plain/minority_recall")
    # negative sampling: DNS > uniform > popularity-weighted; all personalised models far above random
    assert v("negatives/hard (DNS)/recall@20") > v("negatives/uniform/recall@20") > v("negatives/popularity/recall@20")
    assert v("negatives/uniform/recall@20") > 20 * 20 / 9066
    table = (run_dir / "imbalance_table.md").read_text()
    assert table.count("| Default |") == 7 and table.count("| lending_club |") == 7
    assert result.artifacts and all(a.endswith(".png") for a in result.artifacts)   # the report shows them as images


def test_threshold_vs_weights_check_bites_when_the_weights_are_off():
    """The Elkan check's statistic on one Default split: near 0 with balancing weights; with the class weights
    switched off (pos_weight 1, the 0.5 threshold of the plain model) it is far past the check's 0.03."""
    cfg = PRESETS["quick"]
    X, y, _, _ = islr_default()
    Xtr, Xte, ytr, yte = _standardised_split(X, y, cfg.test_fraction, make_rng(0))
    w = class_weights(ytr)
    diff, pr_diff = threshold_vs_weights(cfg, Xtr, ytr, Xte, yte, float(w[1] / w[0]))
    assert abs(diff) < 0.03 and abs(pr_diff) < 0.02
    assert threshold_vs_weights(cfg, Xtr, ytr, Xte, yte, 1.0)[0] > 0.1


def test_mean_interval_is_the_student_t_interval():
    mean, half = mean_interval([0.01, -0.02, 0.0, 0.03])
    assert np.isclose(mean, 0.005)
    assert np.isclose(half, 3.182446305284263 * np.std([0.01, -0.02, 0.0, 0.03], ddof=1) / 2)   # t(0.975, 3)


def test_augmentation_check_bites_when_the_augmentation_destroys_the_label():
    """The full preset's augmentation-vs-duplicates statistic, on two quick draws: with the rare images replaced by
    noise instead of shifted and flipped, augmentation trails duplicates far beyond the check's margin."""
    import torch

    cfg = PRESETS["quick"]
    rng = make_rng(0)
    draws = [image_draw(cfg, rng, d, augment_fn=lambda x, g: torch.rand(x.shape, generator=g)) for d in range(2)]
    gains = [d["oversampling + augmentation"][SNEAKER] - d["oversampling"][SNEAKER] for d in draws]
    assert paired_lower_bound(gains) < -AUGMENTATION_MARGIN and np.mean(gains) < -0.1
