"""Augmentations move or mirror pixels without changing them, deterministically for a given generator."""
import torch

from modelbook.data.augment import augment, random_hflip, random_shift


def test_shift_moves_content_and_fills_zeros():
    x = torch.zeros(64, 1, 8, 8)
    x[:, 0, 3, 4] = 1.0                                  # one bright pixel
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.all(out.sum((1, 2, 3)) == 1)   # the pixel survives (|shift| ≤ 2 < margin)
    where = out[:, 0].flatten(1).argmax(1)
    dy, dx = where // 8 - 3, where % 8 - 4
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2 and len(set(zip(dy.tolist(), dx.tolist()))) > 10


def test_hflip_mirrors_a_subset_and_is_reproducible():
    x = torch.arange(2 * 8 * 3 * 4, dtype=torch.float32).reshape(8 * 2, 1, 3, 4)
    a = random_hflip(x, torch.Generator().manual_seed(1))
    b = random_hflip(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    flipped = [torch.equal(a[i], x[i].flip(-1)) for i in range(len(x))]
    kept = [torch.equal(a[i], x[i]) for i in range(len(x))]
    assert all(f or k for f, k in zip(flipped, kept)) and 0 < sum(flipped) < len(x)
    assert augment(x, torch.Generator().manual_seed(2)).shape == x.shape
