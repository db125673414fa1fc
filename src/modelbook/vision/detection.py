"""Anchor-free detection (CenterNet-style), non-maximum suppression and COCO mAP, from scratch.

    detector:  heatmap (C, H/4, W/4) — a peak at each object's centre, one channel per class (focal loss on
               Gaussian targets, Zhou et al. 2019 "Objects as Points"); size (2, ·) — width and height at the
               centre cell; offset (2, ·) — the centre's sub-cell position.
    decode:    sigmoid heatmap → local maxima (3×3 max-pool) → top-k → boxes → class-wise NMS
    NMS:       sort by score; keep the best box, drop every box with IoU > threshold against it; repeat
    AP (COCO): per class, detections over all images in score order; each is a true positive if it matches a
               still-unmatched ground-truth box with IoU ≥ t (the best such box); precision made monotone
               and read at 101 recall points; mAP = mean over classes (and over t = 0.50, 0.55, ..., 0.95)

`coco_map` follows pycocotools' COCOeval (bbox, area "all", 100 detections per image) step by step, ties
included; `pycocotools_map` runs the library itself on the same boxes: tests/vision/test_detection.py and the
lab hold them equal to 1e-6. `nms_reference` is the definition written with pycocotools' IoU and Python loops.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)   # COCO's ten thresholds
RECALL_POINTS = np.linspace(0.0, 1.0, 101)    # COCO's 101-point interpolation
MAX_DETS = 100                                # COCO's detections per image (and per class)


# -- boxes and NMS -------------------------------------------------------------------------------------
def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, 4) and (M, 4) xyxy -> (N, M) intersection over union."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy NMS: indices of the kept boxes, best score first (ties: the earlier box first)."""
    order = torch.sort(scores, descending=True, stable=True).indices
    iou = box_iou(boxes[order], boxes[order])
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(int(order[i]))
        suppressed |= iou[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS within each class (boxes of different classes never suppress each other); kept indices by score."""
    keep = torch.cat([torch.nonzero(classes == c).flatten()[nms(boxes[classes == c], scores[classes == c], iou_threshold)]
                      for c in classes.unique()]) if len(boxes) else torch.zeros(0, dtype=torch.long)
    return keep[torch.sort(scores[keep], descending=True, stable=True).indices]


def nms_reference(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """The definition, independently: walk boxes in score order, keep one unless a kept box overlaps it by more
    than the threshold; IoU from pycocotools.mask.iou (xywh), loops in Python."""
    from pycocotools import mask as mask_utils

    xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).astype(np.float64)
    kept: list[int] = []
    for i in sorted(range(len(scores)), key=lambda i: -scores[i]):  # Python's sort is stable
        if all(mask_utils.iou(xywh[i:i + 1], xywh[k:k + 1], [0])[0, 0] <= iou_threshold for k in kept):
            kept.append(i)
    return kept


# -- the detector -----------------------------------------------------------------------------------------
def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class CenterNet(nn.Module):
    """A small stride-4 CenterNet: (B, 1, S, S) -> heatmap logits (B, C, S/4, S/4), size (B, 2, ·), offset (B, 2, ·).
    Dilated convolutions at stride 4 give a receptive field of ~60 pixels without more downsampling."""

    stride = 4

    def __init__(self, n_classes: int, width: int = 16):
        super().__init__()
        w = width
        self.body = nn.Sequential(_conv(1, w), _conv(w, 2 * w, stride=2), _conv(2 * w, 2 * w), _conv(2 * w, 4 * w, stride=2),
                                  _conv(4 * w, 4 * w, dilation=2), _conv(4 * w, 4 * w, dilation=4))
        self.heatmap, self.size, self.offset = (nn.Conv2d(4 * w, k, 1) for k in (n_classes, 2, 2))
        nn.init.constant_(self.heatmap.bias, -2.19)  # initial sigmoid 0.1, as in CenterNet: most cells are background

    def forward(self, x: torch.Tensor):
        h = self.body(x)
        return self.heatmap(h), self.size(h), self.offset(h)


def centernet_targets(boxes: list[np.ndarray], labels: list[np.ndarray], n_classes: int, grid: int, stride: int,
                      sigma_scale: float = 0.1):
    """Gaussian heatmaps (N, C, G, G) peaking at 1 at each object's centre cell, and per-object (image, cell row,
    cell col, w, h, offset x, offset y) rows for the size/offset losses. Sigma = sigma_scale · box side in cells."""
    heat = torch.zeros(len(boxes), n_classes, grid, grid)
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float32), torch.arange(grid, dtype=torch.float32), indexing="ij")
    rows = []
    for i, (bb, ll) in enumerate(zip(boxes, labels)):
        for (x0, y0, x1, y1), c in zip(bb, ll):
            cx, cy = (x0 + x1) / 2 / stride, (y0 + y1) / 2 / stride
            ix, iy = min(int(cx), grid - 1), min(int(cy), grid - 1)
            sigma = max(sigma_scale * max(x1 - x0, y1 - y0) / stride, 0.5)
            g = torch.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma ** 2))
            heat[i, c] = torch.maximum(heat[i, c], g)
            rows.append((i, iy, ix, (x1 - x0) / stride, (y1 - y0) / stride, cx - ix, cy - iy))
    return heat, torch.tensor(rows, dtype=torch.float32).reshape(-1, 7)


def centernet_loss(outputs, heat: torch.Tensor, rows: torch.Tensor, size_weight: float = 0.1) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (α = 2, β = 4) on the heatmap, normalised by the number of objects,
    plus L1 on size (weighted 0.1 as in the paper) and offset at the centre cells."""
    logit, size, offset = outputs
    p = logit.sigmoid().clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    pos_loss = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    neg_loss = -(torch.log(1 - p) * p ** 2 * (1 - heat) ** 4 * (1 - pos)).sum()
    n = max(len(rows), 1)
    i, r, c = rows[:, 0].long(), rows[:, 1].long(), rows[:, 2].long()
    size_loss = F.l1_loss(size[i, :, r, c], rows[:, 3:5], reduction="sum") / n
    offset_loss = F.l1_loss(offset[i, :, r, c], rows[:, 5:7], reduction="sum") / n
    return (pos_loss + neg_loss) / n + size_weight * size_loss + offset_loss


def train_centernet(model: CenterNet, images: torch.Tensor, boxes: list[np.ndarray], labels: list[np.ndarray], n_classes: int,
                    epochs: int, lr: float, batch_size: int, seed: int) -> None:
    """AdamW with a cosine decay through the shared loop (core/train.py `fit`). Batches carry canvas indices (shuffled
    by their own generator, `seed`), so each batch's per-object target rows are picked out and renumbered."""
    from modelbook.core.schedules import cosine_with_warmup
    from modelbook.core.train import LRSchedule, fit
    from modelbook.vision.cnn import Batches

    heat, rows = centernet_targets(boxes, labels, n_classes, images.shape[-1] // model.stride, model.stride)
    index = torch.arange(len(images))
    batches = Batches(index, index, batch_size, seed)

    def loss_fn(model, batch):
        order = batch[0].sort().values
        local = rows[torch.isin(rows[:, 0].long(), order)].clone()
        local[:, 0] = torch.searchsorted(order, local[:, 0].long()).float()
        return centernet_loss(model(images[order]), heat[order], local)

    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    fit(model, batches, opt, epochs, loss_fn=loss_fn, description="detector",
        callbacks=[LRSchedule(cosine_with_warmup(opt, 0, epochs * len(batches)), interval="step")])
    model.eval()


def nms_mismatches(raw: list[dict], iou_threshold: float) -> int:
    """(image, class) groups of undeduplicated detections where our NMS keeps other boxes than nms_reference."""
    mismatches = 0
    for r in raw:
        for c in np.unique(r["labels"]):
            sel = np.nonzero(r["labels"] == c)[0]
            ours = sel[nms(torch.from_numpy(r["boxes"][sel]), torch.from_numpy(r["scores"][sel]), iou_threshold).numpy()]
            ref = sel[nms_reference(r["boxes"][sel], r["scores"][sel], iou_threshold)]
            mismatches += int(len(ours) != len(ref) or (ours != ref).any())
    return mismatches


@torch.no_grad()
def decode(outputs, stride: int, top_k: int = 20, iou_threshold: float = 0.5, use_nms: bool = True) -> list[dict]:
    """Per image: {"boxes": (k, 4) xyxy pixels, "scores": (k,), "labels": (k,)} from the heads' outputs."""
    logit, size, offset = outputs
    heat = logit.sigmoid()
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)   # keep local maxima only
    B, C, G, _ = heat.shape
    results = []
    for b in range(B):
        scores, idx = peaks[b].flatten().topk(min(top_k, C * G * G))
        cls, cell = idx // (G * G), idx % (G * G)
        r, c = cell // G, cell % G
        cx, cy = (c + offset[b, 0, r, c]) * stride, (r + offset[b, 1, r, c]) * stride
        w, h = size[b, 0, r, c].clamp(min=0) * stride, size[b, 1, r, c].clamp(min=0) * stride
        boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1)
        keep = batched_nms(boxes, scores, cls, iou_threshold) if use_nms else torch.arange(len(scores))
        results.append({"boxes": boxes[keep].double().numpy(), "scores": scores[keep].double().numpy(), "labels": cls[keep].numpy()})
    return results


# -- COCO mAP ---------------------------------------------------------------------------------------------
def _iou_np(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(n, 4) detections vs (m, 4) ground truth, xyxy float64 -> (n, m) IoU."""
    if not len(d) or not len(g):
        return np.zeros((len(d), len(g)))
    return box_iou(torch.from_numpy(d), torch.from_numpy(g)).numpy()


def coco_map(gt_boxes: list[np.ndarray], gt_labels: list[np.ndarray], detections: list[dict], n_classes: int) -> dict:
    """COCO bbox AP: {"map": mAP@[.5:.95], "map_50": AP@0.5, "ap_per_class": (C,) AP@[.5:.95] (nan: no ground truth)}."""
    T = len(IOU_THRESHOLDS)
    precision = -np.ones((T, len(RECALL_POINTS), n_classes))
    for c in range(n_classes):
        scores, matched, n_gt = [], [], 0
        for gb, gl, det in zip(gt_boxes, gt_labels, detections):       # images in order (COCO's sorted image ids)
            g = gb[gl == c]
            sel = det["labels"] == c
            d, s = det["boxes"][sel], det["scores"][sel]
            order = np.argsort(-s, kind="mergesort")[:MAX_DETS]
            d, s = d[order], s[order]
            n_gt += len(g)
            ious = _iou_np(d, g)
            m = np.zeros((T, len(d)), bool)
            for t, thr in enumerate(IOU_THRESHOLDS):
                taken = np.zeros(len(g), bool)
                for di in range(len(d)):
                    best, hit = min(thr, 1 - 1e-10), -1
                    for gi in range(len(g)):
                        if taken[gi] or ious[di, gi] < best:
                            continue
                        best, hit = ious[di, gi], gi
                    if hit >= 0:
                        taken[hit], m[t, di] = True, True
            scores.append(s)
            matched.append(m)
        if n_gt == 0:
            continue
        s = np.concatenate(scores)
        order = np.argsort(-s, kind="mergesort")
        m = np.concatenate(matched, axis=1)[:, order]
        tp = np.cumsum(m, axis=1).astype(float)
        fp = np.cumsum(~m, axis=1).astype(float)
        for t in range(T):
            q = np.zeros(len(RECALL_POINTS))
            if len(s):
                rc = tp[t] / n_gt
                pr = tp[t] / (fp[t] + tp[t] + np.spacing(1))
                pr = np.maximum.accumulate(pr[::-1])[::-1]          # monotone: the best precision at any higher recall
                inds = np.searchsorted(rc, RECALL_POINTS, side="left")
                valid = inds < len(pr)
                q[valid] = pr[inds[valid]]
            precision[t, :, c] = q
    valid = precision[:, :, 0:n_classes] > -1
    ap_per_class = np.array([precision[:, :, c].mean() if (precision[:, :, c] > -1).all() else np.nan for c in range(n_classes)])
    p50 = precision[0]
    return {"map": float(precision[valid].mean()) if valid.any() else -1.0,
            "map_50": float(p50[p50 > -1].mean()) if (p50 > -1).any() else -1.0,
            "ap_per_class": ap_per_class}


def pycocotools_map(gt_boxes: list[np.ndarray], gt_labels: list[np.ndarray], detections: list[dict], n_classes: int) -> dict:
    """The same numbers from pycocotools' COCOeval (the reference implementation), its printing silenced."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    gt = {"images": [{"id": i + 1} for i in range(len(gt_boxes))], "categories": [{"id": c + 1} for c in range(n_classes)],
          "annotations": []}
    for i, (bb, ll) in enumerate(zip(gt_boxes, gt_labels)):
        for b, c in zip(bb, ll):
            w = xywh(b)
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": int(c) + 1,
                                      "bbox": w, "area": w[2] * w[3], "iscrowd": 0})
    dets = [{"image_id": i + 1, "category_id": int(c) + 1, "bbox": xywh(b), "score": float(s)}
            for i, det in enumerate(detections) for b, s, c in zip(det["boxes"], det["scores"], det["labels"])]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(dets), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"map": float(ev.stats[0]), "map_50": float(ev.stats[1])}
