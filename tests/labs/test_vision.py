"""Lab `vision`: measured outcomes of the quick preset, and faults that make its non-library checks fail."""
import dataclasses

import numpy as np
import pytest


def test_vision_lab_outcomes(quick_result):
    result, run_dir = quick_result("vision")
    v = result.value
    # the benchmark-sized CNN and a ViT of the same size (within 2%)
    assert v("cnn/parameters") == 105_866
    assert abs(v("vit/parameters") / v("cnn/parameters") - 1) < 0.02
    # EfficientNet names both photos; the preprocessing differs from PIL's only by uint8 rounding
    assert (v("efficientnet/chelsea_top1_index"), v("efficientnet/coffee_top1_index")) == (285, 967)
    assert v("efficientnet/preprocess_max_abs_diff") < 0.02
    # forgetting Normalize does not change the top-1 here, but lowers the confidence in it
    assert v("efficientnet/coffee_probability_without_normalisation") < v("efficientnet/coffee_top1_probability")
    # library equalities on real predictions: ours = pycocotools (mAP), = pycocotools' mask IoU
    assert v("detection/map_50") == pytest.approx(v("detection/pycocotools_map_50"), abs=1e-6)
    assert v("detection/map_50_95") < v("detection/map_50")          # stricter IoU thresholds, lower AP
    assert v("segmentation/iou_max_abs_diff_vs_pycocotools") <= 1e-9
    assert all((run_dir / name).is_file() for name in ("learning_curves.png", "detections.png", "segmentation.png"))


@pytest.fixture(scope="module")
def small():
    from modelbook.data.images import fashion_subsets
    from modelbook.labs.vision import PRESETS

    cfg = dataclasses.replace(PRESETS["quick"], small_epochs=2, bench_epochs=2, n_canvas_test=20)
    d = fashion_subsets(np.random.default_rng(0), 120, 0, 200)
    return cfg, d["train"], d["test"]


def _failed(result) -> list[str]:
    return [c.name for c in result.failed_checks]


def test_augmentation_check_fails_when_augmentation_is_off(small, single_thread):
    from modelbook.core.result import LabResult
    from modelbook.labs import vision

    cfg, (x, y), (xt, yt) = small
    result = LabResult("vision", cfg)
    vision._augmentation(result, dataclasses.replace(cfg, augment_shift=0, check_augmentation=True), x, y, xt, yt, None, {})  # the fault
    assert result.value("augmentation/gap_shrink") == 0.0
    assert any("augmentation" in name for name in _failed(result))


def test_vit_and_probe_checks_fail_against_a_cnn_trained_on_shuffled_labels(small, single_thread):
    import torch

    from modelbook.core.result import LabResult
    from modelbook.labs import vision
    from modelbook.vision.cnn import SmallCNN, accuracy_on, train_classifier

    cfg, (x, y), (xt, yt) = small
    torch.manual_seed(0)
    broken = SmallCNN()
    train_classifier(broken, x, y[torch.randperm(len(y))], 2, cfg.lr, cfg.batch_size, 0)  # the fault: labels shuffled
    cnn = {"model": broken, "accuracy": accuracy_on(broken, xt, yt), "cpu": 1.0}
    result = LabResult("vision", cfg)
    vision._vit_vs_cnn(result, cfg, x, y, xt, yt, cnn, {})
    assert any("beats the ViT" in name for name in _failed(result))


def test_detection_floor_fails_for_an_untrained_detector(small, tmp_path, single_thread):
    from modelbook.core.result import LabResult
    from modelbook.labs import vision

    cfg, _, _ = small
    result = LabResult("vision", cfg)
    vision._detection(result, dataclasses.replace(cfg, det_epochs=0, n_canvas_train=20), tmp_path)  # the fault: no training
    failed = _failed(result)
    assert any("mAP@0.5 on" in name for name in failed)
    assert not any("pycocotools" in name for name in failed)   # the library equalities hold for any predictions
