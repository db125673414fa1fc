"""Sliding-window perplexity: one window equals transformers' labels= loss; every token is scored once;
more context lowers the loss. Multiple choice: a continuation's log-probability equals the masked library loss."""
import math

import numpy as np
import pytest
import scipy.special
import torch

from modelbook.nlp.perplexity import (
    bits_per_char,
    choice_logprobs,
    choice_probabilities,
    continuation_logprob,
    perplexity,
    sliding_window_nll,
)
from modelbook.nn.llama import LlamaLM
from tests.nn.test_llama import tiny_hf_llama


def test_one_window_equals_the_library_loss():
    hf = tiny_hf_llama()
    ids = torch.randint(0, 50, (40,), generator=torch.Generator().manual_seed(0))
    ref = float(hf(ids[None], labels=ids[None]).loss)
    total, n = sliding_window_nll(LlamaLM.from_hf(hf), ids, window=64, stride=64)
    assert n == 39 and total / n == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("window,stride", [(16, 16), (16, 8), (16, 5), (64, 64), (2, 1), (53, 53)])
def test_every_token_after_the_first_is_scored_once(window, stride):
    class Uniform(torch.nn.Module):
        def forward(self, ids):
            return torch.zeros(*ids.shape, 7)

    ids = torch.randint(0, 7, (53,), generator=torch.Generator().manual_seed(1))
    total, n = sliding_window_nll(Uniform(), ids, window, stride)
    assert n == 52 and total == pytest.approx(52 * math.log(7))
    assert perplexity(total, n) == pytest.approx(7)
    assert bits_per_char(total, 52) == pytest.approx(math.log2(7))


class CopyTwoBack(torch.nn.Module):
    """Predicts the token two positions back (confidently) once it has seen 2 tokens of its window, uniform
    before: a model whose loss depends on how much context the window gives it."""

    def forward(self, ids):  # (1, T) -> (1, T, 7)
        logits = torch.zeros(*ids.shape, 7)
        for i in range(1, ids.shape[1]):  # position i predicts token i + 1, which equals token i − 1
            logits[0, i, ids[0, i - 1]] = 8.0
        return logits


def test_more_context_lowers_the_loss():
    ids = torch.tensor([3, 5] * 30)
    disjoint, n1 = sliding_window_nll(CopyTwoBack(), ids, 8, 8)
    sliding, n2 = sliding_window_nll(CopyTwoBack(), ids, 8, 2)
    assert n1 == n2 == 59 and sliding < disjoint
    # a window that covers the whole text makes the stride irrelevant
    whole = [sliding_window_nll(CopyTwoBack(), ids, 64, s)[0] for s in (1, 7, 64)]
    assert whole[0] == pytest.approx(whole[1]) == pytest.approx(whole[2])


def test_bad_stride_is_refused():
    with pytest.raises(ValueError):
        sliding_window_nll(None, torch.arange(5), 4, 0)


@pytest.mark.parametrize("window,stride", [(16, 8), (16, 4), (16, 16), (10, 3)])
def test_scored_tokens_keep_window_minus_stride_context(window, stride):
    """Windows start at multiples of the stride; after the first window each scored token has at least
    window − stride tokens before it in its window."""
    calls = []

    class Recorder(torch.nn.Module):
        def forward(self, ids):  # ids are positions: the chunk says where it starts and ends
            calls.append((int(ids[0, 0]), int(ids[0, -1]) + 1))
            return torch.zeros(*ids.shape, 64)

    sliding_window_nll(Recorder(), torch.arange(61), window, stride)
    step = min(stride, window - 1)
    assert [b for b, _ in calls] == [k * step for k in range(len(calls))]
    assert all(e - b <= window for b, e in calls) and calls[-1][1] == 61
    for (_, prev_end), (b, e) in zip(calls, calls[1:]):  # this window scores [prev_end, e)
        assert prev_end - b >= window - step


def test_continuation_logprob_equals_the_library_loss_with_the_prompt_masked():
    """log p(c | prompt) from our LlamaLM = −(transformers' labels= loss with the prompt labelled −100) · |c|;
    the choice probabilities = scipy's softmax over the library's float64 log-probabilities."""
    hf = tiny_hf_llama()
    gen = torch.Generator().manual_seed(2)
    prompt = torch.randint(0, 50, (9,), generator=gen).tolist()
    continuations = [torch.randint(0, 50, (n,), generator=gen).tolist() for n in (1, 3, 6)]
    ours = LlamaLM.from_hf(hf)
    ref = []
    for c in continuations:
        ids = torch.tensor([prompt + c])
        labels = ids.clone()
        labels[0, :len(prompt)] = -100
        with torch.no_grad():
            loss = float(hf(ids, labels=labels).loss)  # the library's loss is computed in float32
            logp = hf(ids).logits[0].double().log_softmax(-1)
        assert continuation_logprob(ours, prompt, c) == pytest.approx(-loss * len(c), rel=1e-6)
        ref.append(sum(float(logp[len(prompt) + i - 1, t]) for i, t in enumerate(c)))
    shared = choice_logprobs(ours, prompt, continuations)  # the prompt once, in a KV cache; candidates as one padded batch
    np.testing.assert_allclose(shared, [continuation_logprob(ours, prompt, c) for c in continuations], rtol=1e-5)
    probs = choice_probabilities(ours, prompt, continuations)
    np.testing.assert_allclose(probs, scipy.special.softmax(ref), rtol=1e-6)  # two float64 forwards, op order differs
    assert probs.sum() == pytest.approx(1.0)
