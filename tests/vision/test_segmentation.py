"""Per-class IoU = sklearn's jaccard_score; the U-Net's shapes and its
skip ablation (same parameters, different output)."""
import numpy as np
import torch

from modelbook.vision.segmentation import UNet, mean_iou, per_class_iou


def test_per_class_iou_equals_sklearn_with_an_absent_class():
    from sklearn.metrics import jaccard_score

    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, (3, 16, 16))            # class 4 appears nowhere: nan for us, left out of the mean
    pred = np.where(rng.uniform(size=target.shape) < 0.7, target, rng.integers(0, 4, target.shape))
    ours = per_class_iou(target, pred, 5)
    ref = jaccard_score(target.ravel(), pred.ravel(), labels=list(range(4)), average=None)
    np.testing.assert_allclose(ours[:4], ref, atol=1e-12)
    assert np.isnan(ours[4])
    assert abs(mean_iou(target, pred, 5) - ref.mean()) < 1e-12


def test_unet_skip_ablation_keeps_parameters_changes_output():
    torch.manual_seed(0)
    with_skips = UNet(4, width=4)
    without = UNet(4, width=4, skips=False)
    without.load_state_dict(with_skips.state_dict())
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        a, b = with_skips.eval()(x), without.eval()(x)
    assert a.shape == (2, 4, 32, 32)
    assert sum(p.numel() for p in with_skips.parameters()) == sum(p.numel() for p in without.parameters())
    assert (a - b).abs().max() > 1e-3
