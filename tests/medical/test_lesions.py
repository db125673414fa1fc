"""Lesion insertion, the LoG detector (= scipy.ndimage) and the FROC curve on hand-checkable cases."""
import numpy as np
import pytest
from scipy import ndimage

from modelbook.medical import lesions


def test_log_response_equals_scale_normalised_scipy():
    img = np.random.default_rng(0).normal(size=(40, 50))
    for r in (1.5, 3.0):
        s = r / np.sqrt(2)
        assert np.abs(lesions.log_response(img, r) + s**2 * ndimage.gaussian_laplace(img, s)).max() < 1e-12


def test_inserted_lesion_has_its_contrast_and_area():
    img = np.zeros((64, 64))
    les = lesions.Lesion(30.0, 31.0, 8.0, 8.0, 50.0)
    out = lesions.insert_lesions(img, [les])
    assert out[30, 31] == pytest.approx(50.0, rel=1e-6)
    assert (out > 25).sum() == pytest.approx(np.pi * 8**2, rel=0.08)   # half-maximum contour = the disc


def test_detector_finds_a_lone_lesion_first():
    rng = np.random.default_rng(1)
    img = rng.normal(0, 5, (80, 80))
    les = [lesions.Lesion(40.0, 25.0, 4.0, 6.0, 60.0)]
    cand, scores = lesions.detect(lesions.insert_lesions(img, les), [2.0, 4.0, 6.0], np.ones_like(img, dtype=bool))
    assert np.hypot(*(cand[0] - [40, 25])) <= 1.0
    best, fps = lesions.lesion_best_scores(cand, scores, les)
    assert best[0] == scores[0] and len(fps) == len(scores) - 1


def test_froc_by_hand():
    # 3 lesions over 2 images: best hit scores 0.9, 0.5, missed; false positives 0.8, 0.6, 0.1
    curve = lesions.froc(np.array([0.9, 0.5, -np.inf]), np.array([0.8, 0.6, 0.1]), n_images=2)
    assert curve.thresholds.tolist() == [0.9, 0.8, 0.6, 0.5, 0.1]
    assert curve.sensitivity.tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert curve.fp_per_image.tolist() == pytest.approx([0, 0.5, 1.0, 1.0, 1.5])
    assert curve.sensitivity_at(1.0) == pytest.approx(2 / 3)
    assert curve.sensitivity_at(0.4) == pytest.approx(1 / 3)
    t = lesions.lesion_threshold_at(np.array([0.8, 0.6, 0.1]), 2, 1.0)      # keep 2 FPs: threshold above 0.1
    assert 0.1 < t <= 0.6 + 1e-9


def test_placed_lesions_sit_inside_the_mask_and_apart():
    mask = np.zeros((100, 100), bool)
    mask[10:90, 10:90] = True
    les = lesions.place_lesions(mask, (3.0, 10.0), (40.0,), 6, 0.5, np.random.default_rng(3))
    assert len(les) == 6
    for a in les:
        assert 10 + a.radius_px < a.row < 90 - a.radius_px and 10 + a.radius_px < a.col < 90 - a.radius_px
        for b in les:
            if a is not b:
                assert np.hypot(a.row - b.row, a.col - b.col) > a.radius_px + b.radius_px
