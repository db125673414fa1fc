"""Decoding rules vs transformers' logits processors on random logits, and their defining properties."""
import math
from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import (
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from modelbook.decoding import processors

SEEDS = st.integers(0, 10_000)


def _logits(seed, b=3, v=40, scale=3.0):
    return torch.randn(b, v, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def _same(a, b):
    assert torch.equal(a.isfinite(), b.isfinite())
    torch.testing.assert_close(a.softmax(-1), b.softmax(-1), rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(SEEDS, st.integers(1, 45))
def test_top_k_matches_transformers(seed, k):
    z = _logits(seed)
    _same(processors.top_k(z, k), TopKLogitsWarper(k)(None, z.clone()))


@settings(max_examples=60, deadline=None)
@given(SEEDS, st.floats(0.05, 0.99))
def test_top_p_matches_transformers(seed, p):
    z = _logits(seed)
    _same(processors.top_p(z, p), TopPLogitsWarper(p)(None, z.clone()))


@settings(max_examples=40, deadline=None)
@given(SEEDS, st.floats(0.01, 0.9))
def test_min_p_matches_transformers(seed, p):
    z = _logits(seed)
    _same(processors.min_p(z, p), MinPLogitsWarper(p)(None, z.clone()))


@settings(max_examples=40, deadline=None)
@given(SEEDS, st.floats(0.1, 3.0))
def test_temperature_matches_transformers(seed, t):
    z = _logits(seed)
    torch.testing.assert_close(processors.temperature(z, t), TemperatureLogitsWarper(t)(None, z.clone()))


@settings(max_examples=40, deadline=None)
@given(SEEDS, st.floats(1.0, 2.5))
def test_repetition_penalty_matches_transformers(seed, theta):
    z = _logits(seed)
    previous = torch.randint(0, 40, (3, 12), generator=torch.Generator().manual_seed(seed))  # repeats included
    ref = RepetitionPenaltyLogitsProcessor(theta)(previous, z.clone())
    torch.testing.assert_close(processors.repetition_penalty(z, previous, theta), ref)


@settings(max_examples=60, deadline=None)
@given(SEEDS, st.floats(0.05, 0.99))
def test_top_p_keeps_the_smallest_set_reaching_p(seed, p):
    z = _logits(seed)
    probs = z.softmax(-1)
    kept = processors.top_p(z, p).isfinite()
    for row in range(z.size(0)):
        mass = probs[row][kept[row]]
        assert mass.sum() >= p - 1e-12
        assert mass.sum() - mass.min() < p  # dropping the least likely survivor goes below p
        dropped = probs[row][~kept[row]]
        assert dropped.numel() == 0 or mass.min() >= dropped.max()  # survivors are the most likely tokens


@settings(max_examples=40, deadline=None)
@given(SEEDS, st.integers(1, 39))
def test_truncation_renormalises(seed, k):
    z = _logits(seed)
    kept = processors.top_k(z, k).isfinite()
    q = processors.top_k(z, k).softmax(-1)
    p = z.softmax(-1)
    assert kept.sum(-1).eq(k).all()
    torch.testing.assert_close(q[kept], (p * kept / (p * kept).sum(-1, keepdim=True))[kept])
    torch.testing.assert_close(q.sum(-1), torch.ones(3, dtype=torch.float64))


def test_ties_with_the_kth_logit_are_kept_like_transformers():
    z = torch.tensor([[3.0, 2.0, 2.0, 1.0]])
    assert processors.top_k(z, 2).isfinite().tolist() == [[True, True, True, False]]


def test_sampling_follows_the_distribution():
    z = torch.tensor([0.0, 1.0, 2.0, -1.0], dtype=torch.float64)
    draws = processors.sample(z.expand(40_000, -1), torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=4).double() / 40_000
    torch.testing.assert_close(freq, z.softmax(-1), rtol=0, atol=0.01)


def test_neutral_settings_change_nothing():
    z = _logits(0)
    torch.testing.assert_close(processors.process(z, torch.zeros(3, 0, dtype=torch.long)), z)


def test_entropy_matches_torch_categorical():
    z = _logits(3, scale=5.0)
    for t in (0.5, 1.0, 1.5):
        ref = torch.distributions.Categorical(logits=z / t).entropy()
        torch.testing.assert_close(processors.entropy(z, t), ref, rtol=0, atol=1e-12)
    # a one-hot distribution (other logits −inf) has entropy 0; a uniform one has log V
    onehot = torch.full((1, 6), processors.NEG_INF, dtype=torch.float64)
    onehot[0, 2] = 0.0
    assert float(processors.entropy(onehot)) == 0.0
    assert float(processors.entropy(torch.zeros(1, 6, dtype=torch.float64))) == pytest.approx(math.log(6), abs=1e-12)


def test_empirical_total_variation_matches_a_count_by_hand():
    gen = torch.Generator().manual_seed(1)
    target = torch.tensor([0.5, 0.3, 0.15, 0.05], dtype=torch.float64)
    draws = torch.multinomial(target, 997, replacement=True, generator=gen)
    counts = Counter(draws.tolist())
    by_hand = 0.5 * sum(abs(counts.get(i, 0) / 997 - float(q)) for i, q in enumerate(target))
    assert processors.empirical_total_variation(draws, target) == pytest.approx(by_hand, abs=1e-12)
    # a token never drawn contributes its whole probability; all draws on one token: TV = 1 − q_0
    assert processors.empirical_total_variation(torch.zeros(10, dtype=torch.long), target) == pytest.approx(0.5)
