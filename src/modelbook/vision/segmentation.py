"""Semantic segmentation: a small U-Net (Ronneberger et al. 2015) and per-class IoU from a confusion matrix.

    enc1 = conv²(x)                      S×S,     w channels
    enc2 = conv²(pool(enc1))             S/2,     2w
    mid  = conv²(pool(enc2))             S/4,     4w
    dec2 = conv²([up(mid), enc2])        S/2      the skip brings enc2's fine detail back
    dec1 = conv²([up(dec2), enc1])       S        ... and enc1's
    logits = conv1×1(dec1)               (C + 1 classes: background and each object class)

With skips=False the encoder features in the concatenations are replaced by zeros: the same layers and the same
parameter count, only the information path is cut, so the ablation measures what the skips carry.
IoU_c = TP_c / (TP_c + FP_c + FN_c) from the confusion matrix; mIoU = mean over classes present in the
ground truth or the prediction (a class absent from both has no IoU). tests/vision/test_segmentation.py holds it
to sklearn's jaccard_score (the lab does the same on its masks).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, n_classes: int, width: int = 8, skips: bool = True):
        super().__init__()
        w = width
        self.skips = skips
        self.enc1, self.enc2, self.mid = _double_conv(1, w), _double_conv(w, 2 * w), _double_conv(2 * w, 4 * w)
        self.up2, self.up1 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec2, self.dec1 = _double_conv(4 * w, 2 * w), _double_conv(2 * w, w)
        self.out = nn.Conv2d(w, n_classes, 1)
        self.pool = nn.MaxPool2d(2)

    def _skip(self, t: torch.Tensor) -> torch.Tensor:
        return t if self.skips else torch.zeros_like(t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), self._skip(e2)], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), self._skip(e1)], dim=1))
        return self.out(d1)


def confusion_matrix(target: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) counts, rows = true class, columns = predicted class, over all pixels."""
    t, p = np.asarray(target).ravel().astype(np.int64), np.asarray(pred).ravel().astype(np.int64)
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_iou(target: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(C,) IoU per class; nan for a class absent from both target and prediction."""
    cm = confusion_matrix(target, pred, n_classes).astype(np.float64)
    tp = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / union, np.nan)


def mean_iou(target: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    return float(np.nanmean(per_class_iou(target, pred, n_classes)))


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> None:
    """Replace the running statistics of every BatchNorm with exact averages over `images` under the final weights.
    After a few dozen steps the exponential running averages still remember the first, random-weight batches;
    evaluation with them is off (the same fix as SWA's bn_update, Izmailov et al. 2018)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    for i in range(0, len(images), batch_size):
        model(images[i:i + batch_size])
    model.eval()


@torch.no_grad()
def predict_masks(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    model.eval()
    return torch.cat([model(images[i:i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)]).numpy()


def train_unet(model: UNet, images: torch.Tensor, masks: torch.Tensor, epochs: int, lr: float, batch_size: int, seed: int,
               weight_power: float = 0.5) -> None:
    """AdamW, cosine decay, cross-entropy weighted by balanced class weights ** weight_power (full balancing drowns the
    background, none ignores the objects), channels-last; BatchNorm statistics recalibrated on `images` at the end."""
    from modelbook.core.schedules import cosine_with_warmup
    from modelbook.core.train import LRSchedule, class_weights, fit
    from modelbook.vision.cnn import Batches

    model.to(memory_format=torch.channels_last)  # NHWC: ~1.3x faster U-Net steps on one CPU thread
    batches = Batches(images, masks, batch_size, seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    weights = class_weights(masks.flatten(), n_classes=int(masks.max()) + 1) ** weight_power
    fit(model, batches, opt, epochs, criterion=nn.CrossEntropyLoss(weight=weights), description="U-Net",
        callbacks=[LRSchedule(cosine_with_warmup(opt, 0, epochs * len(batches)), interval="step")])
    recalibrate_batchnorm(model, images)


def pycocotools_class_iou(target: np.ndarray, pred: np.ndarray, c: int) -> float:
    """IoU of class c over all images by the library: each side's class-c pixels as one binary mask (images stacked
    into one tall image), run-length encoded, compared by pycocotools.mask.iou."""
    from pycocotools import mask as mask_utils

    def rle(m):
        return mask_utils.encode(np.asfortranarray((m == c).reshape(-1, m.shape[-1]).astype(np.uint8)))

    return float(mask_utils.iou([rle(pred)], [rle(target)], [0])[0, 0])
