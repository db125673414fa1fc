"""Vehicle detection on highway-env's rendered frames, boxes projected from the simulator state, mAP by distance band.

The renderer draws each vehicle as a LENGTH × WIDTH rectangle centred on its position, rotated by its heading, in
a top-down view whose origin and scale (pixels per metre) the viewer exposes; projecting the four corners gives the
axis-aligned ground-truth box exactly (tests/driving/test_perception.py checks it against the drawn pixels). The
detector is the vision lab's CenterNet (modelbook.vision.detection), trained from scratch on these frames.

Distance bands follow the longitudinal distance |dx| from the ego's centre: a ground-truth box by its vehicle, a
detection by its box centre. The ego itself is drawn in every frame; it is a training target (it is a vehicle)
but left out of the band scores, with any detection that overlaps it (IoU ≥ 0.5), as range-filtered benchmarks do.
A top-down render is not a camera: a far car is as large as a near one, so bands differ only where a car is cut by
the frame's edge. With a camera, far cars shrink to a few pixels and mAP falls with distance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VISIBLE_SHARE = 0.5   # a vehicle cut by the frame edge is a target when at least half of its box is visible


@dataclass
class Frames:
    images: "np.ndarray"            # (N, 1, S, S) float32 grey levels in [0, 1]
    boxes: list                     # per frame (k, 4) xyxy pixels, float64
    dx: list                        # per frame (k,) longitudinal distance from the ego, metres
    ego: list                       # per frame (k,) True for the ego's own box
    ego_x: np.ndarray               # (N,) the ego's centre column, pixels
    scaling: float                  # pixels per metre


def vehicle_box(position, heading: float, length: float, width: float, origin, scaling: float) -> np.ndarray:
    """xyxy pixel box of a length × width rectangle at `position` rotated by `heading` (the renderer's transform)."""
    c, s = np.cos(heading), np.sin(heading)
    corners = np.array([[dl * c - dw * s, dl * s + dw * c] for dl in (-length / 2, length / 2) for dw in (-width / 2, width / 2)])
    pix = (np.asarray(position) + corners - np.asarray(origin)) * scaling
    return np.r_[pix.min(0), pix.max(0)]


def frames_from(drives: list, length: float = 5.0, width: float = 2.0) -> Frames:
    """Grey frames and ground-truth boxes from logged drives (sim.drive with size set); highway-env's cars are
    all length × width metres (Vehicle.LENGTH, Vehicle.WIDTH)."""
    images, boxes, dxs, egos, ego_x = [], [], [], [], []
    for d in drives:
        for frame, origin, scaling, t in zip(d.frames, d.origins, d.scalings, d.frame_steps):
            size = frame.shape[0]
            all_boxes = np.array([vehicle_box(p, h, length, width, origin, scaling) for p, h in zip(d.positions[t], d.headings[t])])
            clipped = np.clip(all_boxes, 0, size)
            area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
            keep = area(clipped) >= VISIBLE_SHARE * area(all_boxes)
            images.append(frame.mean(-1, dtype=np.float32)[None] / 255.0)
            boxes.append(clipped[keep])
            dxs.append(np.abs(d.positions[t, :, 0] - d.positions[t, d.ego, 0])[keep])
            egos.append((np.arange(len(keep)) == d.ego)[keep])
            ego_x.append((d.positions[t, d.ego, 0] - origin[0]) * scaling)
            frame_scaling = scaling
    return Frames(np.stack(images), boxes, dxs, egos, np.array(ego_x), float(frame_scaling))


def banded(frames: Frames, detections: list[dict], lo: float, hi: float) -> tuple[list, list, list]:
    """Ground truth and detections of the band lo ≤ |dx| < hi metres, the ego and detections on it left out:
    (gt_boxes, gt_labels, detections) in the form modelbook.vision.detection.coco_map takes."""
    import torch

    from modelbook.vision.detection import box_iou

    gts, labels, dets = [], [], []
    for i, det in enumerate(detections):
        keep_gt = ~frames.ego[i] & (frames.dx[i] >= lo) & (frames.dx[i] < hi)
        gts.append(frames.boxes[i][keep_gt])
        labels.append(np.zeros(int(keep_gt.sum()), dtype=np.int64))
        centre_dx = np.abs((det["boxes"][:, 0] + det["boxes"][:, 2]) / 2 - frames.ego_x[i]) / frames.scaling
        keep = (centre_dx >= lo) & (centre_dx < hi)
        ego_box = frames.boxes[i][frames.ego[i]]
        if len(ego_box) and len(det["boxes"]):
            keep &= box_iou(torch.from_numpy(det["boxes"]), torch.from_numpy(ego_box)).numpy().max(1) < 0.5
        dets.append({k: v[keep] for k, v in det.items()})
    return gts, labels, dets
