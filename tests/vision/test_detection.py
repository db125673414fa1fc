"""NMS = the definition (pycocotools IoU, Python loops); our COCO mAP = pycocotools COCOeval on the same boxes."""
import numpy as np
import pytest
import torch

from modelbook.vision.detection import batched_nms, box_iou, coco_map, nms, nms_reference, pycocotools_map


def _random_boxes(rng, n, size=64.0):
    xy = rng.uniform(0, size - 8, (n, 2))
    wh = rng.uniform(4, 24, (n, 2))
    return np.column_stack([xy, xy + wh])


def test_box_iou_hand_computed():
    a = torch.tensor([[0.0, 0, 10, 10]])
    b = torch.tensor([[5.0, 5, 15, 15], [20.0, 20, 30, 30]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[25 / 175, 0.0]]))


def test_nms_equals_the_definition_with_pycocotools_iou():
    rng = np.random.default_rng(3)
    for threshold in (0.3, 0.5, 0.7):
        boxes = _random_boxes(rng, 60)
        scores = np.round(rng.uniform(size=60), 2)  # rounded: ties, which both must break by position
        ours = nms(torch.from_numpy(boxes), torch.from_numpy(scores), threshold).tolist()
        assert ours == nms_reference(boxes, scores, threshold)
        assert 0 < len(ours) < 60


def test_batched_nms_never_suppresses_across_classes():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 10, 10], [0.0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert batched_nms(boxes, scores, torch.tensor([0, 1, 0]), 0.5).tolist() == [0, 1]


def _scene(rng, n_images=12, n_classes=3):
    gts, labels, dets = [], [], []
    for _ in range(n_images):
        g = _random_boxes(rng, int(rng.integers(0, 5)))
        gl = rng.integers(0, n_classes, len(g))
        jitter = g + rng.normal(0, 2.0, g.shape)                       # near-hits at every IoU level
        jitter[:, 2:] = np.maximum(jitter[:, 2:], jitter[:, :2] + 1)   # valid boxes (COCO ignores negative areas)
        extra = _random_boxes(rng, int(rng.integers(0, 4)))             # false positives
        d = np.concatenate([jitter, jitter[: len(jitter) // 2] + 1.0, extra])
        dl = np.concatenate([gl, gl[: len(gl) // 2], rng.integers(0, n_classes, len(extra))])
        dl[rng.uniform(size=len(dl)) < 0.15] = rng.integers(0, n_classes)  # some wrong classes
        gts.append(g)
        labels.append(gl)
        dets.append({"boxes": d, "scores": np.round(rng.uniform(size=len(d)), 2), "labels": dl})
    return gts, labels, dets


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coco_map_equals_pycocotools(seed):
    gts, labels, dets = _scene(np.random.default_rng(seed))
    ours, ref = coco_map(gts, labels, dets, 3), pycocotools_map(gts, labels, dets, 3)
    assert 0.05 < ref["map"] < 0.95
    assert abs(ours["map"] - ref["map"]) <= 1e-6 and abs(ours["map_50"] - ref["map_50"]) <= 1e-6

