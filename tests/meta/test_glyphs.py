"""The glyph set: the GB2312 order, determinism per seed, the cache."""
import numpy as np
import pytest
import torch

from modelbook.meta import glyphs


def test_gb2312_level1_order():
    chars = glyphs.gb2312_level1(3755)
    assert chars[:3] == ["啊", "阿", "埃"] and chars[-1] == "座" and len(set(chars)) == 3755
    with pytest.raises(ValueError, match="n_chars"):
        glyphs.gb2312_level1(4000)


def test_build_is_deterministic_per_seed_and_uses_the_cache(home):
    a, chars = glyphs.build(30, 4, seed=0, size=20)
    b, _ = glyphs.build(30, 4, seed=0, size=20)                 # from the cache
    c, _ = glyphs.build(30, 4, seed=1, size=20)
    fresh, _ = glyphs.build(30, 4, seed=0, size=20, cache=False)
    assert a.shape == (30, 4, 20, 20) and len(chars) == 30
    assert torch.equal(a, b) and torch.equal(a, fresh) and not torch.equal(a, c)
    assert (home / "cache" / "glyphs" / "wqy_gb2312_30_20px.npy").is_file()
    assert 0 <= a.min() and a.max() <= 1.0001


def test_drawings_of_a_character_are_closer_than_other_characters():
    data, _ = glyphs.build(40, 6, seed=0, size=20)
    flat = data.flatten(2).numpy()
    within = np.mean([np.linalg.norm(flat[c, 0] - flat[c, 1]) for c in range(40)])
    between = np.mean([np.linalg.norm(flat[c, 0] - flat[(c + 1) % 40, 0]) for c in range(40)])
    assert within < between
