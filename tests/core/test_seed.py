import numpy as np
import torch

from modelbook.core.seed import generators, seed_everything


def test_seed_everything_makes_global_streams_repeat():
    seed_everything(5)
    a = (np.random.rand(3), torch.rand(3))
    seed_everything(5)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_generators_are_independent_of_the_global_stream():
    rng, gen = generators(7)
    first = (rng.permutation(10), torch.randperm(10, generator=gen))
    seed_everything(1)
    np.random.rand(100)  # consuming the global stream must not move the split
    rng, gen = generators(7)
    assert np.array_equal(first[0], rng.permutation(10)) and torch.equal(first[1], torch.randperm(10, generator=gen))
