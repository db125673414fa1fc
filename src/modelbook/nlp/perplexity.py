"""Perplexity of a causal language model on a long text, with a sliding window.

    PPL = exp( −(1/N) Σ_t log p(x_t | x_{<t}) )          bits per character = Σ_t −log₂ p(x_t | …) / characters

A model reads at most `window` tokens, so a long text is cut into windows. Cutting it into disjoint windows
makes the first tokens of every window guess with almost no context; a sliding window that advances by
`stride` < window re-reads the previous window − stride tokens as context and scores only the new ones, so
every scored token after the first window has at least window − stride tokens of context (lower, fairer perplexity, at
window / stride times the compute). This is the evaluation transformers' documentation describes for
fixed-length models; perplexities from different tokenisers are not comparable, bits per character are.

Multiple choice by likelihood: a prompt is followed by each candidate continuation in turn, each is scored by
its total log-probability log p(c | prompt) = Σ_t log p(c_t | prompt, c_<t), and the softmax over the candidates
gives P(c) among them (how lm-evaluation-harness scores multiple-choice tasks, without length normalisation).

Works on any `model(ids (1, T)) -> logits (1, T, V)`. Cross-check: tests/nlp/test_perplexity.py (one window
equals transformers' own `labels=` loss; a continuation's log-probability equals the loss with the prompt masked).
"""
from __future__ import annotations

import math

import numpy as np
import torch


@torch.no_grad()
def sliding_window_nll(model, ids: torch.Tensor, window: int, stride: int) -> tuple[float, int]:
    """(total negative log-likelihood in nats, number of tokens scored) over ids (N,); every token but the
    first is scored exactly once. Window k covers [k·s, k·s + window) with s = min(stride, window − 1) and
    scores only the tokens the previous window did not reach (the last window may be shorter), as in
    transformers' "Perplexity of fixed-length models". stride ≥ window means disjoint windows that share one
    token (the first token of a window has no prediction, so it must close the previous one)."""
    if stride <= 0 or window < 2:
        raise ValueError(f"need stride > 0 and window ≥ 2, got stride={stride}, window={window}")
    step = min(stride, window - 1)
    n = ids.numel()
    total, scored, done, begin = 0.0, 0, 1, 0  # tokens [0, done) are scored already (the first has no prediction)
    while done < n:
        end = min(n, begin + window)
        chunk = ids[begin:end][None]  # (1, T)
        logp = model(chunk).double().log_softmax(-1)[0, :-1]  # position i predicts token begin + i + 1
        nll = -logp.gather(-1, chunk[0, 1:, None]).squeeze(-1)  # (T − 1,)
        total += float(nll[done - begin - 1:].sum())  # the predictions of tokens [done, end)
        scored += end - done
        done, begin = end, begin + step
    return total, scored


def perplexity(total_nll: float, n_tokens: int) -> float:
    return math.exp(total_nll / n_tokens)


def bits_per_char(total_nll: float, n_chars: int) -> float:
    return total_nll / math.log(2) / n_chars


@torch.no_grad()
def continuation_logprob(model, prompt: list[int], continuation: list[int]) -> float:
    """log p(continuation | prompt) in nats: the sum of the continuation tokens' log-probabilities."""
    logp = model(torch.tensor([prompt + continuation])).log_softmax(-1)[0, len(prompt) - 1:-1]  # predicts each new token
    return float(logp.gather(-1, torch.tensor(continuation)[:, None]).sum())


@torch.no_grad()
def choice_logprobs(model, prompt: list[int], continuations: list[list[int]]) -> np.ndarray:
    """log p(c | prompt) for each candidate c, with the prompt run once: its keys and values go into a KV cache
    (modelbook.nn.attention.KVCache, as LlamaLM.new_cache() gives), shared by all candidates, which then run as one
    right-padded batch on top of it. Padding after a token cannot change that token's logits (causal attention),
    so each score equals continuation_logprob's up to float rounding, at a fraction of the cost for long prompts."""
    cache = model.new_cache()
    first = model(torch.tensor([prompt]), cache)[0, -1].double().log_softmax(-1)  # predicts each candidate's first token
    ids = torch.zeros(len(continuations), max(map(len, continuations)), dtype=torch.long)
    for i, c in enumerate(continuations):
        ids[i, :len(c)] = torch.tensor(c)
    for layer in cache.k:  # the one prompt's keys and values, viewed once per candidate
        cache.k[layer] = cache.k[layer].expand(len(continuations), -1, -1, -1)
        cache.v[layer] = cache.v[layer].expand(len(continuations), -1, -1, -1)
    logp = model(ids, cache).double().log_softmax(-1)  # (B, L, V): position j predicts token j + 1
    return np.array([float(first[c[0]]) + float(logp[i, :len(c) - 1].gather(-1, ids[i, 1:len(c), None]).sum())
                     for i, c in enumerate(continuations)])


def choice_probabilities(model, prompt: list[int], continuations: list[list[int]]) -> np.ndarray:
    """P(continuation i) among the candidates: the softmax of their total log-probabilities after `prompt`."""
    scores = choice_logprobs(model, prompt, continuations)
    return np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
