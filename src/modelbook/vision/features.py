"""A frozen ImageNet backbone as a feature extractor: EfficientNet-Lite0's preprocessing, logits and pooled features.

    x = (resize_shorter(img, 224) / 255 − mean) / std        the model package's pipeline: Resize(224), ToTensor,
                                                             Normalize(ImageNet mean, std), no crop
    features = global_avg_pool(net.extract_features(x))     (B, 1280): the input of the classifier head
    logits = net._fc(features)                              (B, 1000) ImageNet-1k classes

`preprocess` is written with torch only (antialiased bilinear resize); `preprocess_pil` is the package's own
pipeline (its README: torchvision Resize on a PIL image, i.e. PIL's bilinear resize, then ToTensor and
Normalize) written without torchvision. tests/vision/test_features.py holds them to each other.
`grey_batch_features` feeds 28x28 greyscale images (Fashion-MNIST) to the same network: upsampled, grey copied to
the three channels, normalised the same way.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the package's Normalize (ImageNet training-set statistics)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SIZE = 224  # EfficientNet-Lite0's training resolution


def _normalise(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def _shorter_side_to(h: int, w: int, size: int) -> tuple[int, int]:
    """torchvision Resize(int) semantics: the shorter side becomes `size`, the longer keeps the aspect ratio
    (rounded down)."""
    if h <= w:
        return size, int(size * w / h)
    return int(size * h / w), size


def preprocess(image: np.ndarray, size: int = IMAGE_SIZE, normalise: bool = True) -> torch.Tensor:
    """uint8 (H, W, 3) RGB -> float32 (1, 3, h, w), shorter side `size`, normalised with the ImageNet mean/std."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    h, w = _shorter_side_to(x.shape[2], x.shape[3], size)
    x = F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return _normalise(x) if normalise else x


def preprocess_pil(image: np.ndarray, size: int = IMAGE_SIZE) -> torch.Tensor:
    """The model package's documented pipeline, torchvision-free: PIL bilinear resize (shorter side `size`),
    ToTensor (uint8 / 255), Normalize(ImageNet mean, std). Same output layout as `preprocess`."""
    from PIL import Image

    pil = Image.fromarray(image)
    h, w = _shorter_side_to(pil.height, pil.width, size)
    resized = np.asarray(pil.resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
    return _normalise(torch.from_numpy(resized).permute(2, 0, 1).unsqueeze(0))


@torch.no_grad()
def pooled_features(net, x: torch.Tensor) -> torch.Tensor:
    """(B, 3, h, w) normalised -> (B, 1280): the globally averaged last feature map, what the head sees."""
    return net.extract_features(x).mean(dim=(2, 3))


@torch.no_grad()
def logits(net, x: torch.Tensor) -> torch.Tensor:
    """(B, 3, h, w) -> (B, 1000); equals net(x) in eval mode (dropout is off), via our pooling."""
    return net._fc(pooled_features(net, x))


@torch.no_grad()
def grey_batch_features(net, images: torch.Tensor, size: int, batch: int = 100) -> torch.Tensor:
    """(N, 1, 28, 28) floats in [0, 1] -> (N, 1280) frozen features at `size`×`size` input. Batches go in channels-last
    (NHWC): with the net converted too, EfficientNet's depthwise convolutions on these small maps run ~2.5x faster."""
    out = []
    for i in range(0, len(images), batch):
        x = F.interpolate(images[i:i + batch], size=(size, size), mode="bilinear", align_corners=False)
        x = _normalise(x.expand(-1, 3, -1, -1)).contiguous(memory_format=torch.channels_last)
        out.append(pooled_features(net, x))
    return torch.cat(out)


def linear_probe(f_train: torch.Tensor, y_train: torch.Tensor, n_classes: int, l2: float = 1e-3, max_iter: int = 100):
    """Multinomial logistic regression on frozen features: minimise mean cross-entropy + l2/2 · ‖W‖² (bias not
    penalised) with full-batch L-BFGS. Returns predict(f) -> classes. Features are standardised with the
    training mean and std first. Same objective as sklearn's LogisticRegression(C = 1 / (l2 · n)) (tests)."""
    mean, std = f_train.mean(0), f_train.std(0) + 1e-6
    x = ((f_train - mean) / std).double()
    W = torch.zeros(x.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=max_iter, tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x @ W + b, y_train) + 0.5 * l2 * (W ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    W, b = W.detach(), b.detach()

    def predict(f: torch.Tensor) -> torch.Tensor:
        return ((((f - mean) / std).double()) @ W + b).argmax(-1)

    predict.weights = (W, b)
    return predict
