"""The shared bench of the compression labs: Fashion-MNIST tensors, the models, training and measuring.

Models (the papers' own small nets, so their claims can be set beside ours):
  LeNet-300-100 (784-300-100-10 MLP; Han et al. 2015, Frankle & Carbin 2019; 266,610 parameters)
  a small all-convolutional CNN: conv(1→c1, 3×3, stride 2)-conv(c1→c2, 3×3, stride 2)-FC(c2·7·7→h)-FC(h→10)
  with BatchNorm and ReLU, optionally with binary (BinaryConnect/XNOR) weights in the hidden layers.
Training goes through core.train.fit (Adam, fixed epochs); accuracy and latency are measured on the
Fashion-MNIST test split.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from modelbook.compression.binary import BinaryConv2d, BinaryLinear, clip_latent_weights_
from modelbook.core.measure import median_time
from modelbook.core.train import Callback, fit
from modelbook.nn.mlp import mlp

BATCH_SIZE = 128  # train()'s default mini-batch (a lab that schedules by optimizer steps counts them with it)


@dataclass(frozen=True)
class Split:
    """Images (N, 1, 28, 28) scaled to [0, 1] and int64 labels, train and test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def fashion_split(n_train: int, n_test: int, seed: int) -> Split:
    """A seeded, class-stratified subset of Fashion-MNIST's train split and the first n_test test images
    (the test set is fixed across seeds, so numbers are comparable)."""
    from modelbook.core.seed import rng
    from modelbook.data import fashion_mnist, train_val_split

    data = fashion_mnist()
    if n_train < len(data.x_train):
        _, idx = train_val_split(len(data.y_train), n_train / len(data.y_train), rng(seed), stratify=data.y_train)
    else:
        idx = np.arange(len(data.y_train))

    def images(x):
        return torch.from_numpy(np.array(x)).float().div_(255).unsqueeze(1)
    return Split(images(data.x_train[idx]), torch.from_numpy(data.y_train[idx]),
                 images(data.x_test[:n_test]), torch.from_numpy(data.y_test[:n_test]))


def lenet_300_100(hidden: tuple[int, int] = (300, 100), binary: bool = False) -> nn.Sequential:
    """784-h1-h2-10 MLP. binary=True: every layer binary (BinaryConnect's MLPs binarize all of them), with
    BatchNorm after each hidden layer to keep the activations in range."""
    if not binary:
        return mlp(784, hidden, 10)
    h1, h2 = hidden
    return nn.Sequential(nn.Flatten(), BinaryLinear(784, h1, bias=False), nn.BatchNorm1d(h1), nn.ReLU(),
                         BinaryLinear(h1, h2, bias=False), nn.BatchNorm1d(h2), nn.ReLU(), BinaryLinear(h2, 10))


def small_cnn(c1: int = 16, c2: int = 32, hidden: int = 128, binary: bool = False) -> nn.Sequential:
    """The CNN of the compression labs, all-convolutional (Springenberg et al. 2015: stride-2 convolutions
    downsample instead of max-pooling, ≈ 2.5x cheaper to train here), BatchNorm after every hidden layer:
    [conv1 3×3/2 BN ReLU] (B, c1, 14, 14) [conv2 3×3/2 BN ReLU] (B, c2, 7, 7) flatten [fc1 BN ReLU] fc2.
    binary=True binarizes conv2 and fc1; the first and last layers stay float (the usual practice)."""
    conv, linear = (BinaryConv2d, BinaryLinear) if binary else (nn.Conv2d, nn.Linear)
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
        conv(c1, c2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(),
        nn.Flatten(), linear(c2 * 49, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, 10))


class ClipBinary(Callback):
    """BinaryConnect: clip the latent float weights to [−1, 1] after every optimizer step."""

    def on_step_end(self, state, loss, grad_norm):
        clip_latent_weights_(state.model)


def loader(split_x: torch.Tensor, split_y: torch.Tensor, batch_size: int, seed: int, *extra: torch.Tensor) -> DataLoader:
    """A shuffling loader with its own seeded generator (extra tensors, e.g. teacher logits, ride along)."""
    from modelbook.data import tensor_loader

    return tensor_loader(split_x, split_y, batch_size, shuffle=True, seed=seed, extra=extra)


def train(model: nn.Module, split: Split, n_epochs: int, seed: int, lr: float = 1e-3, batch_size: int = BATCH_SIZE,
          callbacks: list[Callback] = (), loss_fn=None, extra: tuple[torch.Tensor, ...] = (),
          description: str = "training") -> nn.Module:
    """Adam on cross-entropy (or `loss_fn`) with core.train.fit; returns the model in eval mode."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    kwargs = {"loss_fn": loss_fn} if loss_fn is not None else {"criterion": nn.CrossEntropyLoss()}
    fit(model, loader(split.x_train, split.y_train, batch_size, seed, *extra), optimizer, n_epochs,
        callbacks=list(callbacks), description=description, **kwargs)
    return model.eval()


@torch.no_grad()
def logits(model: nn.Module, x: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits(model, x).argmax(-1) == y).float().mean())


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def fp32_bytes(model: nn.Module) -> int:
    return sum(t.numel() * 4 for t in list(model.parameters()) + list(model.buffers()) if t.is_floating_point())


def latency_ms(model: nn.Module, x, repeats: int = 5) -> float:
    """Median milliseconds for one forward pass on the batch x (a tensor, a tuple of positional inputs or a
    dict of keyword inputs); machine-dependent: report as volatile."""
    model.eval()
    args, kwargs = ((), x) if isinstance(x, dict) else ((x,) if torch.is_tensor(x) else tuple(x), {})
    with torch.no_grad():
        return 1e3 * median_time(lambda: model(*args, **kwargs), repeats=repeats, warmup=2)


def flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward pass on x, counted by torch.utils.flop_counter (matmuls and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def kl_to(reference_logits: torch.Tensor, other_logits: torch.Tensor) -> float:
    """Mean KL(softmax(reference) ‖ softmax(other)): how far a compressed model's predictions moved."""
    return float(F.kl_div(F.log_softmax(other_logits, -1), F.log_softmax(reference_logits, -1), log_target=True,
                          reduction="batchmean"))
