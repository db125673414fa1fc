"""Attention maps of a BERT-style encoder (all-MiniLM-L6-v2), and why attention weights are not explanations.

A layer's attention matrix A (T × T per head, rows sum to 1) says how much each position's new representation
mixes in each other position's value vector at that layer. It is tempting to read "the model looked at word j"
as "word j mattered". It does not follow:
  - the value vectors differ in norm, so a large weight on a small vector contributes little (Kobayashi et al. 2020);
  - after the first layer a position already mixes the whole sentence, so attention to position j is not
    attention to word j; attention rollout (Abnar & Zuidema 2020), which multiplies the head-averaged maps
    (with the residual as 0.5·I) through the layers, is one attempt to track the mixing;
  - much attention parks on [CLS], [SEP] and punctuation as a no-op (Clark et al. 2019);
  - attention weights correlate weakly with gradient and leave-one-out importance, and different attention
    patterns can give the same prediction (Jain & Wallace 2019; see Wiegreffe & Pinter 2019 for the nuance).

Here the output explained is the cosine similarity between a sentence's embedding (mean pooling of the last
hidden states, L2-normalised, as sentence-transformers does for this model) and a query's embedding.
Leave-one-out importance of token i = similarity with the sentence − similarity with token i removed. It is
compared with attention-based scores by Kendall's τ.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import kendalltau


def _batch(ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id lists with 0 ([PAD]) into (B, T) ids and a (B, T) attention mask."""
    t = max(len(x) for x in ids)
    input_ids = torch.zeros(len(ids), t, dtype=torch.long)
    mask = torch.zeros(len(ids), t, dtype=torch.long)
    for i, x in enumerate(ids):
        input_ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    return input_ids, mask


@torch.no_grad()
def attention_maps(encoder, tokenizer, text: str) -> tuple[torch.Tensor, list[str]]:
    """(attentions (L, H, T, T), tokens) for one sentence (encoder: nn.bert.BertEncoder)."""
    enc = tokenizer.encode(text)
    _, attentions = encoder(torch.tensor([enc.ids]), return_attentions=True)
    return torch.stack([a[0] for a in attentions]), list(enc.tokens)


@torch.no_grad()
def sentence_embeddings(encoder, ids: list[list[int]]) -> torch.Tensor:
    """(N, D) mean-pooled, L2-normalised embeddings of tokenised sentences (sentence-transformers' recipe)."""
    input_ids, mask = _batch(ids)
    hidden = encoder(input_ids, mask)                                          # (N, T, D)
    m = mask[..., None].to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=-1)


def leave_one_out(encoder, tokenizer, text: str, query: str) -> np.ndarray:
    """(T,) importance of each token for cos(emb(text), emb(query)); 0 for [CLS] and [SEP], which stay."""
    ids = tokenizer.encode(text).ids
    q = sentence_embeddings(encoder, [tokenizer.encode(query).ids])[0]
    variants = [ids] + [ids[:i] + ids[i + 1:] for i in range(1, len(ids) - 1)]
    sims = sentence_embeddings(encoder, variants) @ q
    return np.concatenate([[0.0], (sims[0] - sims[1:]).numpy(), [0.0]])


def attention_received(attn: torch.Tensor, layer: int = -1) -> np.ndarray:
    """(T,) attention each position receives at one layer, averaged over heads and query positions."""
    return attn[layer].mean(0).mean(0).numpy()


def attention_rollout(attn: torch.Tensor) -> torch.Tensor:
    """(T, T) rollout: Π_l normalise(0.5·mean_h A_l + 0.5·I), multiplied from the first layer to the last."""
    t = attn.shape[-1]
    rollout = torch.eye(t, dtype=attn.dtype)
    for layer in attn:
        a = 0.5 * layer.mean(0) + 0.5 * torch.eye(t, dtype=attn.dtype)
        rollout = (a / a.sum(-1, keepdim=True)) @ rollout
    return rollout


def special_token_share(attn: torch.Tensor, tokens: list[str]) -> np.ndarray:
    """(L,) share of attention mass that lands on [CLS] and [SEP], averaged over heads and query positions."""
    special = torch.tensor([tok in ("[CLS]", "[SEP]") for tok in tokens])
    return attn[..., special].sum(-1).mean(dim=(1, 2)).numpy()


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's τ-b between two importance vectors."""
    return float(kendalltau(a, b).statistic)


def content_kendall(scores: np.ndarray, importance: np.ndarray) -> float:
    """Kendall's τ-b between two per-token vectors over the content tokens only: the first and last positions
    ([CLS] and [SEP]) are dropped, since leave-one-out never removes them and gives them importance 0."""
    return kendall(scores[1:-1], importance[1:-1])
