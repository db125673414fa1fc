"""Character LM helpers: vocabulary round trip, windows, evaluation = cross-entropy, n-gram baselines."""
import math

import pytest
import torch

from modelbook.nlp.charlm import CharVocab, RandomWindows, evaluate, ngram_nats, sample


def test_vocab_round_trip_and_unknown_characters():
    v = CharVocab("hello world")
    assert v.decode(v.encode("hello")) == "hello"
    assert v.encode("z").tolist() == [0]


def test_windows_are_shifted_by_one_and_reproducible():
    data = torch.arange(100)
    a = list(RandomWindows(data, 8, 4, 3, seed=5))
    b = list(RandomWindows(data, 8, 4, 3, seed=5))
    assert len(a) == 3 and all(torch.equal(x, y) for (x, _), (y, _) in zip(a, b))
    x, y = a[0]
    assert torch.equal(y, x + 1)


class Uniform(torch.nn.Module):
    def __init__(self, v):
        super().__init__()
        self.v = v

    def forward(self, idx, targets=None):
        logits = torch.zeros(*idx.shape, self.v)
        if targets is None:
            return logits
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())


def test_evaluate_uniform_model_is_log_v_and_sampling_stays_in_vocab():
    data = torch.randint(0, 7, (500,))
    assert evaluate(Uniform(7), data, 16) == pytest.approx(math.log(7))
    out = sample(Uniform(7), data[:5], 20, 16, generator=torch.Generator().manual_seed(0))
    assert out.shape == (20,) and int(out.max()) < 7


def test_ngram_baselines():
    train = "abababababababab"
    # a perfectly alternating text: the bigram model is nearly certain, the unigram model is not
    assert ngram_nats(train, "abab", 2, alpha=0.01) < 0.05
    assert ngram_nats(train, "abab", 1, alpha=0.01) == pytest.approx(math.log(2), abs=0.01)
    with pytest.raises(ValueError):
        ngram_nats(train, "ab", 3)
