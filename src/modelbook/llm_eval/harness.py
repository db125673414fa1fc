"""A log-likelihood multiple-choice harness, written the way lm-evaluation-harness scores its `multiple_choice` tasks.

An item is a context and n candidate continuations, one of them right. For every candidate the model gives
ll_i = log p(" " + choice_i | context), the sum of the log-probabilities of the continuation's tokens. Then

    acc      = 1 if argmax_i ll_i == gold                 (ties go to the first index: np.argmax)
    acc_norm = 1 if argmax_i ll_i / len(choice_i) == gold  (len = characters of the choice string)

which is lm-evaluation-harness's ConfigurableTask.process_results (v0.4: `completion_len = [len(c) for c in
choices]`, `pred_norm = np.argmax(lls / completion_len)`). Summed log-likelihood favours short answers, since every
extra token costs probability; dividing by the length in characters (not tokens, which would depend on the
tokenizer) removes most of that bias. The continuation gets the target delimiter " " in front, but its length
is the choice's own. Tokenization follows the harness's `_encode_pair`: trailing spaces of the context move to
the continuation, and the continuation's tokens are those of tokenize(context + continuation) after the
context's tokens.

Every (context, choice) pair is one sequence, as in the harness; sequences of similar length run as one
right-padded batch, and choices whose fed tokens coincide (one-token answers, "75" and "76" after "7") share a row (padding after a token cannot change that token's logits under causal attention). Few-shot
demonstrations, the same for every item here, run once (with the template tokens every context starts with, such
as "Question:"): their KV cache is repeated under each batch. The output
head is applied only at the positions that predict a continuation token: on SmolLM2 it is a fifth of the weights.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from modelbook.core.errors import ModelbookError

DELIMITER = " "  # lm-evaluation-harness's default target_delimiter


@dataclass(frozen=True)
class MCItem:
    context: str
    """the prompt up to where the answer starts, e.g. "Question: What is 3 + 4?\\nAnswer:" """
    choices: tuple[str, ...]
    """candidate answers, without the leading delimiter"""
    gold: int
    """index of the right choice"""
    text: str = ""
    """the item as it would appear in a document (question and answer), for contamination checks"""

    def __post_init__(self):
        if not 0 <= self.gold < len(self.choices) or len(self.choices) < 2:
            raise ModelbookError(f"a multiple-choice item needs ≥ 2 choices and a gold index among them, got "
                                 f"{len(self.choices)} choices and gold {self.gold}")


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) as lm-evaluation-harness's _encode_pair makes them."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    return ctx, whole[len(ctx):]


@torch.no_grad()
def loglikelihoods(model, tokenizer, items, prefix: str = "", batch: int = 32,
                   delimiter: str = DELIMITER) -> list[np.ndarray]:
    """ll = log p(delimiter + choice | prefix + context) in nats (float64) for every choice of every item, from a
    Hugging Face causal LM. `prefix` (few-shot demonstrations, shared by every item) runs once, with the tokens
    every item's context starts with; its KV cache is repeated under each batch of (context, choice) sequences,
    which run right-padded."""
    prefix_ids = _prefix_ids(tokenizer, prefix, items[0].context) if prefix else []
    n_prefix = len(prefix_ids)
    reqs = []  # (item, choice, suffix ids = context after the prefix + continuation, context length in the suffix)
    for i, it in enumerate(items):
        for j, c in enumerate(it.choices):
            ctx, cont = encode_pair(tokenizer, prefix + it.context, delimiter + c)
            if ctx[:n_prefix] != prefix_ids:
                raise ModelbookError(f"item {i}: the few-shot prefix tokenizes differently in front of its context")
            if not cont or len(ctx) <= n_prefix:
                raise ModelbookError(f"item {i}: choice {c!r} adds no token, or the context adds none to the prefix")
            reqs.append((i, j, ctx[n_prefix:] + cont, len(ctx) - n_prefix, len(cont)))
    # Tokens that every sequence starts with after the prefix (a template's "Question:") join it and run once too;
    # each sequence keeps its last context token in its row: that position predicts the first answer token.
    common = _common_start([r[2] for r in reqs], min(r[3] for r in reqs) - 1)
    if common:
        prefix_ids = prefix_ids + common
        reqs = [(i, j, suffix[len(common):], n_ctx - len(common), n_cont) for i, j, suffix, n_ctx, n_cont in reqs]
    if prefix_ids:
        prefix_out = model.model(torch.tensor([prefix_ids]), use_cache=True).past_key_values
    # A sequence need not feed its last continuation token (it predicts nothing), so choices whose fed tokens are
    # the same (one-token answers) or a prefix of another's share one row: row = the longest such token list.
    rows: dict[tuple, None] = {}
    for _, _, suffix, _, _ in reqs:
        rows.setdefault(tuple(suffix[:-1]), None)
    keys = sorted(rows, key=len, reverse=True)
    owner: dict[tuple, tuple] = {}
    for k in keys:
        owner[k] = next((o for o in keys if len(o) > len(k) and o[:len(k)] == k and owner.get(o) == o), k)
    unique = [k for k in keys if owner[k] == k]
    lls = [np.zeros(len(it.choices)) for it in items]
    wanted: dict[tuple, list] = {}
    for i, j, suffix, n_ctx, n_cont in reqs:
        wanted.setdefault(owner[tuple(suffix[:-1])], []).append((i, j, suffix, n_ctx, n_cont))
    unique.sort(key=len)  # similar lengths share a batch: less padding
    for start in range(0, len(unique), batch):
        chunk = unique[start:start + batch]
        width = max(len(r) for r in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        for b, r in enumerate(chunk):
            ids[b, :len(r)] = torch.tensor(r)
        cache = None
        if prefix_ids:
            cache = copy.deepcopy(prefix_out)
            cache.batch_repeat_interleave(len(chunk))
        hidden = model.model(ids, cache=cache, use_cache=cache is not None).last_hidden_state  # (B, L, d)
        # the positions that predict a continuation token, each once (one-token choices of an item share one),
        # through the output head in one product: it reads its (vocabulary × d) weights once per batch
        where: dict[tuple[int, int], int] = {}
        for b, r in enumerate(chunk):
            for _, _, _, n_ctx, n_cont in wanted[r]:
                for pos in range(n_ctx - 1, n_ctx - 1 + n_cont):
                    where.setdefault((b, pos), len(where))
        rows_b, rows_pos = (torch.tensor(v) for v in zip(*where))
        logp = model.lm_head(hidden[rows_b, rows_pos]).double().log_softmax(-1)  # (positions, vocabulary)
        for b, r in enumerate(chunk):
            for i, j, suffix, n_ctx, n_cont in wanted[r]:
                at = [where[b, pos] for pos in range(n_ctx - 1, n_ctx - 1 + n_cont)]
                lls[i][j] = float(logp[at, suffix[n_ctx:n_ctx + n_cont]].sum())
    return lls


def _common_start(seqs: list[list[int]], limit: int) -> list[int]:
    """The longest run of tokens (at most `limit`) that every sequence starts with."""
    n, first = 0, seqs[0]
    while n < limit and all(len(s) > n and s[n] == first[n] for s in seqs):
        n += 1
    return list(first[:n])


def _prefix_ids(tokenizer, prefix: str, context: str) -> list[int]:
    """The prefix's tokens as they come out in front of a context ("\\n\\n" is one token at the end of a string
    but two before a word): the longest run of tokens of prefix + context that decodes to the prefix."""
    ids = tokenizer(prefix + context, add_special_tokens=False)["input_ids"]
    for k in range(len(ids), 0, -1):
        if tokenizer.decode(ids[:k]) == prefix:
            return ids[:k]
    raise ModelbookError("the few-shot prefix does not end on a token boundary in front of the item (end it with a newline)")


def acc(lls, gold: int) -> float:
    return float(int(np.argmax(lls)) == gold)


def acc_norm(lls, choices, gold: int) -> float:
    lengths = np.array([float(len(c)) for c in choices])
    return float(int(np.argmax(np.asarray(lls) / lengths)) == gold)


def choice_probabilities(lls) -> np.ndarray:
    """P(choice i | the item) renormalised over the candidates: softmax of their log-likelihoods."""
    z = np.asarray(lls, dtype=float)
    p = np.exp(z - z.max())
    return p / p.sum()


@dataclass(frozen=True)
class Scores:
    acc: np.ndarray
    """(n,) 0/1 per item"""
    acc_norm: np.ndarray
    confidence: np.ndarray
    """(n,) probability of the predicted choice (argmax of ll), renormalised over the choices"""
    gold_prob: np.ndarray
    """(n,) probability of the right choice"""

    @property
    def n(self) -> int:
        return len(self.acc)


def summarise(items, lls) -> Scores:
    a = np.array([acc(ll, it.gold) for it, ll in zip(items, lls)])
    an = np.array([acc_norm(ll, it.choices, it.gold) for it, ll in zip(items, lls)])
    probs = [choice_probabilities(ll) for ll in lls]
    return Scores(a, an, np.array([p.max() for p in probs]), np.array([p[it.gold] for it, p in zip(items, probs)]))
