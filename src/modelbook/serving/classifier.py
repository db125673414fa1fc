"""The served Fashion-MNIST classifier: a small MLP trained with the shared `fit` loop, and its data.

Input: (B, 784) float32 pixels in [0, 1] (a 28×28 image, row-major). Output: (B, 10) logits.
An MLP rather than a CNN because dynamic int8 quantization, ONNX export and the adversarial attacks all apply
to it directly, and it trains to ≈ 88% test accuracy on the full set in seconds.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from modelbook.core.train import accuracy, fit
from modelbook.data import FASHION_CLASSES, fashion_mnist

N_INPUTS = 28 * 28
KIND = "fashion-mlp"


def make_mlp(hidden: tuple[int, ...] | list[int] = (256, 128), n_inputs: int = N_INPUTS, n_classes: int = 10) -> nn.Sequential:
    sizes = [n_inputs, *hidden, n_classes]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mlp_config(hidden) -> dict:
    """What the registry stores to rebuild the architecture (manifest "config")."""
    return {"hidden": list(hidden), "n_inputs": N_INPUTS, "classes": list(FASHION_CLASSES)}


def fashion_arrays(n_train: int, n_test: int, rng: np.random.Generator):
    """(x_train, y_train, x_test, y_test): random subsets, pixels as float32 in [0, 1], shape (n, 784)."""
    data = fashion_mnist()
    tr = np.sort(rng.choice(len(data.y_train), n_train, replace=False))
    te = np.sort(rng.choice(len(data.y_test), n_test, replace=False))

    def flat(x):
        return (x.reshape(len(x), -1) / 255.0).astype(np.float32)

    return flat(data.x_train[tr]), data.y_train[tr], flat(data.x_test[te]), data.y_test[te]


def fashion_test_images(n: int) -> np.ndarray:
    """The first n Fashion-MNIST test images, pixels as float32 in [0, 1], shape (n, 784) (labels not needed)."""
    x = fashion_mnist().x_test[:n]
    return (x.reshape(len(x), -1) / 255.0).astype(np.float32)


def train_classifier(x: np.ndarray, y: np.ndarray, hidden=(256, 128), n_epochs: int = 3, batch_size: int = 128,
                     lr: float = 1e-3, seed: int = 0, callbacks=(), loss_fn=None) -> nn.Sequential:
    """Train the MLP with Adam and cross-entropy through core.train.fit (or a custom loss_fn(model, batch))."""
    model = make_mlp(hidden)
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    kwargs = {"loss_fn": loss_fn} if loss_fn else {"criterion": nn.CrossEntropyLoss()}
    fit(model, loader, opt, n_epochs, callbacks=list(callbacks), description="training the classifier", **kwargs)
    return model.eval()


@torch.no_grad()
def eval_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return accuracy(model(torch.from_numpy(x)), torch.from_numpy(y))
