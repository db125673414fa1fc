"""Where to fuse two modalities: at the input (early), at the predictions (late), or in between (cross-attention).

Every model maps (image (B, 28, 28), mel (B, n_mels, T)) to class logits, so one training loop serves them all:

    Unimodal(which)   an MLP on one modality only (the baseline every multimodal result must beat)
    EarlyFusion       one MLP on the concatenated inputs: [image pixels ; log-mel cells] → h → h → classes
    LateFusion        an MLP per modality, trained together; prediction = mean of the two log-softmaxes
                      (a product of experts: log p ∝ ½ log p_img + ½ log p_aud)
    CrossAttention    modality-specific token encoders (7×7 image patches, log-mel time steps, each with a learned
                      position embedding), then audio tokens attend to image tokens and image tokens to audio tokens
                      (Vaswani et al. 2017's multi-head attention, modelbook.nn.attention), a token-wise MLP, mean
                      pooling of both streams and a linear head

`sized(build, target)` picks the width that brings a model closest to a parameter budget, so the comparison is
at equal parameter count. `modality_dropout` blanks one modality for a random share of the training examples
(ModDrop, Neverova et al. 2016): the model must learn to answer from either modality alone, which is what it
faces when a modality goes missing at test time. A missing modality is fed as zeros: a blank image, and the
training mean of the log-mel (zero after standardisation).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from modelbook.multimodal.encoders import IMAGE_SIDE, AudioCNN, ImageMLP, ImagePatches
from modelbook.nn.attention import MultiHeadAttention


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class Unimodal(nn.Module):
    """One modality's encoder and a linear head (ImageMLP for images, AudioCNN for log-mels)."""

    def __init__(self, which: str, mel_shape: tuple[int, int], width: int, n_out: int = 10):
        super().__init__()
        if which not in ("image", "audio"):
            raise ValueError(f"which must be 'image' or 'audio', not {which!r}")
        self.which = which
        self.encoder = ImageMLP(width) if which == "image" else AudioCNN(mel_shape[0], width)
        self.head = nn.Linear(width, n_out)

    def forward(self, image, mel):
        return self.head(self.encoder(image if self.which == "image" else mel))


class EarlyFusion(nn.Module):
    """One MLP on [image pixels ; log-mel cells]: every interaction can be learned, no structure is assumed."""

    def __init__(self, mel_shape: tuple[int, int], width: int, n_out: int = 10):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(IMAGE_SIDE ** 2 + mel_shape[0] * mel_shape[1], width), nn.GELU(),
                                 nn.Linear(width, width), nn.GELU(), nn.Linear(width, n_out))

    def forward(self, image, mel):
        return self.net(torch.cat([image.flatten(1), mel.flatten(1)], 1))


class LateFusion(nn.Module):
    """Two unimodal classifiers; the prediction is the mean of their log-probabilities."""

    def __init__(self, mel_shape: tuple[int, int], width: int, n_out: int = 10):
        super().__init__()
        self.image = Unimodal("image", mel_shape, width, n_out)
        self.audio = Unimodal("audio", mel_shape, width, n_out)

    def branch_logits(self, image, mel) -> tuple[torch.Tensor, torch.Tensor]:
        return self.image(image, mel), self.audio(image, mel)

    def forward(self, image, mel):
        a, b = self.branch_logits(image, mel)
        return 0.5 * (a.log_softmax(-1) + b.log_softmax(-1))


class CrossAttention(nn.Module):
    """Image patch tokens and AudioCNN time tokens; each stream attends to the other (pre-norm, residual), a
    shared token-wise MLP, mean pooling of both streams, a linear head."""

    def __init__(self, mel_shape: tuple[int, int], width: int, n_out: int = 10, heads: int = 4):
        super().__init__()
        d = width
        self.image_tokens, self.audio_tokens = ImagePatches(d), AudioCNN(mel_shape[0], d)
        self.audio_reads_image = MultiHeadAttention(d, heads)
        self.image_reads_audio = MultiHeadAttention(d, heads)
        self.norm_a, self.norm_i = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.head = nn.Linear(2 * d, n_out)

    def forward(self, image, mel):
        ti, ta = self.image_tokens(image), self.audio_tokens.tokens(mel)
        ni, na = self.norm_i(ti), self.norm_a(ta)
        a = ta + self.audio_reads_image(na, ni)
        i = ti + self.image_reads_audio(ni, na)
        a, i = a + self.ffn(a), i + self.ffn(i)
        return self.head(torch.cat([a.mean(1), i.mean(1)], 1))


BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "image_only": lambda mel_shape, w, n_out=10: Unimodal("image", mel_shape, w, n_out),
    "audio_only": lambda mel_shape, w, n_out=10: Unimodal("audio", mel_shape, w, n_out),
    "early": EarlyFusion,
    "late": LateFusion,
    "cross_attention": CrossAttention,
}


def sized(build: Callable[[int], nn.Module], target: int, widths=range(4, 513, 4)) -> tuple[nn.Module, int]:
    """The model from build(width) whose parameter count is closest to `target` (the narrower on a tie), and that
    width. The count grows with the width, so a bisection finds the first width at or above the target in a few
    builds; candidates are built on the meta device (shapes only, no memory, no initialisation)."""
    widths = list(widths)
    with torch.device("meta"):
        lo, hi = 0, len(widths) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if n_params(build(widths[mid])) >= target:
                hi = mid
            else:
                lo = mid + 1
        candidates = widths[max(lo - 1, 0): lo + 1]
        best = min(candidates, key=lambda w: abs(n_params(build(w)) - target))
    return build(best), best


def modality_dropout(image, mel, p: float, generator: torch.Generator):
    """Blank the image for a share p/2 of the batch and the audio for another p/2 (never both)."""
    if p <= 0:
        return image, mel
    u = torch.rand(image.shape[0], generator=generator)
    drop_image, drop_audio = u < p / 2, (u >= p / 2) & (u < p)
    return image * (~drop_image)[:, None, None], mel * (~drop_audio)[:, None, None]


def train(model: nn.Module, image, mel, y, *, epochs: int, lr: float, generator: torch.Generator, batch_size: int = 64,
          drop_p: float = 0.0, extra_heads: tuple = ()) -> nn.Module:
    """Adam on cross-entropy. LateFusion is trained on the sum of its branches' losses (each branch learns its
    own classifier, as two separately trained models would). `extra_heads`: (labels, weight) pairs for the extra
    outputs of a multi-task model, whose logits follow the first 10 columns in order, two per binary task."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(y)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            xi, xa = modality_dropout(image[idx], mel[idx], drop_p, generator)
            opt.zero_grad()
            loss = _loss(model, xi, xa, y[idx], [(t[idx], w) for t, w in extra_heads])
            loss.backward()
            opt.step()
    model.eval()
    return model


def _loss(model, xi, xa, y, extra):
    ce = nn.functional.cross_entropy
    if isinstance(model, LateFusion):
        a, b = model.branch_logits(xi, xa)
        return ce(a, y) + ce(b, y)
    logits = model(xi, xa)
    loss = ce(logits[:, :10], y)
    for k, (t, w) in enumerate(extra):
        loss = loss + w * ce(logits[:, 10 + 2 * k:12 + 2 * k], t)
    return loss


@torch.no_grad()
def predict(model: nn.Module, image, mel) -> torch.Tensor:
    model.eval()
    return model(image, mel)


def accuracy(model: nn.Module, image, mel, y, columns: slice = slice(0, 10)) -> float:
    return float((predict(model, image, mel)[:, columns].argmax(1) == y).float().mean())
