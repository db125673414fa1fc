"""Two-task data sets: MultiMNIST from MNIST-5k, and GradNorm's synthetic regression tasks.

MultiMNIST (Sabour, Frosst & Hinton 2017 built it for capsules; Sener & Koltun 2018 made it the standard two-task
benchmark): two digits on one canvas, one placed towards the top left, the other towards the bottom right, each
shifted by up to `shift` pixels, overlapping where they meet (pixel-wise max). Task L: the class of the top-left
digit; task R: the class of the bottom-right one. Sener & Koltun's canvas is 36×36 resized to 28×28; here
`pool=2` averages 2×2 blocks into an 18×18 image for the CPU-bound presets.

    train_src, test_src = split_sources(len(images), n_train_sources, rng)     # test digits never seen in training
    x, y = multi_mnist(images[train_src], labels[train_src], 2000, rng)        # x (2000, 1, 36, 36), y (2000, 2)
"""
from __future__ import annotations

import numpy as np

DIGIT = 28


def split_sources(n: int, n_train: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint index sets of source digits for the training and test canvases (sorted)."""
    if not 0 < n_train < n:
        raise ValueError(f"n_train must be in 1..{n - 1}, got {n_train}")
    perm = rng.permutation(n)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


def multi_mnist(images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator, canvas: int = 36,
                shift: int = 4, pool: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """`n` two-digit canvases: x float32 (n, 1, canvas/pool, canvas/pool) in [0, 1], y int64 (n, 2) = (left, right)."""
    if canvas < DIGIT + shift or canvas % pool:
        raise ValueError(f"canvas {canvas} must hold a 28-pixel digit shifted by {shift} and divide by pool {pool}")
    left, right = rng.integers(0, len(images), n), rng.integers(0, len(images), n)
    off_left = rng.integers(0, shift + 1, (n, 2))                        # top-left corner in 0..shift
    off_right = canvas - DIGIT - rng.integers(0, shift + 1, (n, 2))      # bottom-right corner
    x = np.zeros((n, canvas, canvas), np.float32)
    digits = images.astype(np.float32) / 255.0
    for k in range(n):
        (r0, c0), (r1, c1) = off_left[k], off_right[k]
        x[k, r0:r0 + DIGIT, c0:c0 + DIGIT] = digits[left[k]]
        np.maximum(x[k, r1:r1 + DIGIT, c1:c1 + DIGIT], digits[right[k]], out=x[k, r1:r1 + DIGIT, c1:c1 + DIGIT])
    if pool > 1:
        s = canvas // pool
        x = x.reshape(n, s, pool, s, pool).mean(axis=(2, 4))
    return x[:, None], np.stack([labels[left], labels[right]], axis=1).astype(np.int64)


def gradnorm_toy(n: int, sigmas: tuple[float, ...], rng: np.random.Generator, d_in: int = 250, d_out: int = 100,
                 b_var: float = 10.0, eps_var: float = 3.5) -> tuple[np.ndarray, np.ndarray]:
    """Chen et al. (2018) §5.1: tasks fᵢ(x) = σᵢ tanh((B + εᵢ) x), B ~ N(0, 10) shared, εᵢ ~ N(0, 3.5) per task
    (read as variances).

    x ~ N(0, 1) in R^d_in; returns x float32 (n, d_in) and y float32 (T, n, d_out). B and εᵢ are (d_out, d_in)
    matrices; (B + εᵢ)x is divided by √(d_in·(10 + 3.5)) here so that its entries are N(0, 1) and tanh is not
    saturated (the paper does not state a normalisation). The tasks share B, so they are related, and differ by εᵢ
    and by their scale σᵢ.
    """
    b = rng.normal(0.0, np.sqrt(b_var), (d_out, d_in))
    eps = rng.normal(0.0, np.sqrt(eps_var), (len(sigmas), d_out, d_in))
    x = rng.normal(0.0, 1.0, (n, d_in))
    y = np.stack([s * np.tanh(x @ ((b + e) / np.sqrt(d_in * (b_var + eps_var))).T) for s, e in zip(sigmas, eps)])
    return x.astype(np.float32), y.astype(np.float32)
