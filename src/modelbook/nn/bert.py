"""A BERT encoder from scratch, loadable with all-MiniLM-L6-v2's weights, with per-head gates and head removal.

BERT (Devlin et al. 2019) is a post-LayerNorm transformer encoder. For token ids (B, T) and a padding mask:

    x₀ = LN(E_word[ids] + E_pos[0..T−1] + E_type[0])                                        (B, T, D)
    per layer:  a = W_O · concat_h( softmax(Q_h K_hᵀ / √d + m) V_h )     Q_h = x W_Q,h ...  (H heads of d)
                x = LN(x + a)
                x = LN(x + W₂ · gelu(W₁ x))
    m = 0 on real tokens, −∞ (a large negative) on padding keys

all-MiniLM-L6-v2 (Wang et al. 2020, MiniLM; fine-tuned by sentence-transformers): 6 layers, D = 384,
12 heads of d = 32, FFN 1536, vocabulary 30,522. Its sentence embedding is the mean of the last hidden
states over real tokens, L2-normalised (`embed`).

Heads are first-class here so structured pruning can act on them: `gates` (L, H) multiplies each head's
output before W_O (0 switches a head off; a gate with requires_grad gives Michel et al.'s head importance
|∂L/∂ξ_h|), and compression/structured.py removes heads physically by shrinking W_Q, W_K, W_V (rows) and
W_O (columns), so each layer keeps its own head count.

Loading needs only safetensors and the `tokenizers` package (≈ 0.05 s), not transformers (≈ 3.5 s to import).
tests/nn/test_bert.py checks the hidden states against transformers' BertModel on the same weights;
tests/compression/test_structured.py checks that removing heads equals gating them to zero (transformers 5
dropped BertModel.prune_heads, which is why this lab has its own encoder).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class BertLayer(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int, eps: float):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.query, self.key, self.value = (nn.Linear(d_model, d_model) for _ in range(3))
        self.out = nn.Linear(d_model, d_model)  # W_O
        self.ln_attn = nn.LayerNorm(d_model, eps=eps)
        self.ffn_in, self.ffn_out = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.ln_ffn = nn.LayerNorm(d_model, eps=eps)

    def forward(self, x, key_bias, gate=None, attentions: list | None = None):  # x (B, T, D), key_bias (B, 1, 1, T), gate (H,)
        b, t, _ = x.shape
        h, d = self.n_heads, self.head_dim
        q, k, v = (m(x).view(b, t, h, d).transpose(1, 2) for m in (self.query, self.key, self.value))  # (B, H, T, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d) + key_bias  # (B, H, T, T)
        probs = scores.softmax(-1)  # (B, H, T, T)
        if attentions is not None:  # attention maps (interpret lab)
            attentions.append(probs)
        heads = probs @ v  # (B, H, T, d)
        if gate is not None:
            heads = heads * gate.view(1, h, 1, 1)
        x = self.ln_attn(x + self.out(heads.transpose(1, 2).reshape(b, t, h * d)))
        return self.ln_ffn(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class BertEncoder(nn.Module):
    def __init__(self, vocab_size: int = 30522, d_model: int = 384, n_layers: int = 6, n_heads: int = 12,
                 d_ff: int = 1536, max_positions: int = 512, n_types: int = 2, eps: float = 1e-12):
        super().__init__()
        self.word = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(max_positions, d_model)
        self.token_type = nn.Embedding(n_types, d_model)
        self.ln_embed = nn.LayerNorm(d_model, eps=eps)
        self.layers = nn.ModuleList(BertLayer(d_model, n_heads, d_ff, eps) for _ in range(n_layers))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None, gates: torch.Tensor | None = None,
                return_attentions: bool = False):
        """Last hidden states (B, T, D) for ids and attention mask (B, T) (None: no padding); gates (L, H) or None.
        With return_attentions: (hidden states, [attention probabilities (B, H, T, T) per layer])."""
        t = ids.shape[1]
        if mask is None:
            mask = torch.ones_like(ids)
        x = self.ln_embed(self.word(ids) + self.position.weight[:t] + self.token_type.weight[0])
        key_bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min  # (B, 1, 1, T)
        attentions: list | None = [] if return_attentions else None
        for i, layer in enumerate(self.layers):
            x = layer(x, key_bias, None if gates is None else gates[i], attentions)
        return (x, attentions) if return_attentions else x

    def embed(self, ids: torch.Tensor, mask: torch.Tensor, gates: torch.Tensor | None = None) -> torch.Tensor:
        """Sentence embeddings (B, D): hidden states mean-pooled over real tokens, L2-normalised."""
        h = self(ids, mask, gates)
        m = mask.unsqueeze(-1).to(h.dtype)
        return F.normalize((h * m).sum(1) / m.sum(1), dim=-1)

    def heads_per_layer(self) -> list[int]:
        return [layer.n_heads for layer in self.layers]


# Hugging Face BertModel parameter names -> ours (per layer: encoder.layer.{i}.<hf> -> layers.{i}.<ours>)
_EMBED = {"embeddings.word_embeddings": "word", "embeddings.position_embeddings": "position",
          "embeddings.token_type_embeddings": "token_type", "embeddings.LayerNorm": "ln_embed"}
_LAYER = {"attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
          "attention.output.dense": "out", "attention.output.LayerNorm": "ln_attn", "intermediate.dense": "ffn_in",
          "output.dense": "ffn_out", "output.LayerNorm": "ln_ffn"}


def from_hf_state_dict(state: dict[str, torch.Tensor], config: dict) -> BertEncoder:
    """A BertEncoder holding a Hugging Face BertModel's weights (its config.json as a dict)."""
    model = BertEncoder(config["vocab_size"], config["hidden_size"], config["num_hidden_layers"],
                        config["num_attention_heads"], config["intermediate_size"], config["max_position_embeddings"],
                        config["type_vocab_size"], config["layer_norm_eps"])
    ours = {}
    for name, tensor in state.items():
        stem, _, kind = name.rpartition(".")  # kind: weight / bias
        if stem in _EMBED:
            ours[f"{_EMBED[stem]}.{kind}"] = tensor
        elif stem.startswith("encoder.layer."):
            i, _, rest = stem[len("encoder.layer."):].partition(".")
            ours[f"layers.{i}.{_LAYER[rest]}.{kind}"] = tensor
    model.load_state_dict(ours)  # strict: every parameter must be found
    return model.eval()


def load_minilm_encoder(path: Path):
    """(BertEncoder, tokenizers.Tokenizer) from an all-MiniLM-L6-v2 folder (config.json, model.safetensors,
    tokenizer.json); the tokenizer pads to the longest text of a batch and truncates at 128 tokens."""
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    model = from_hf_state_dict(load_file(str(path / "model.safetensors")), config)
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))
    tokenizer.enable_truncation(128)
    return model, tokenizer


def tokenize(tokenizer, texts: list[str], max_length: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, attention mask), each (B, T) int64, padded to the longest text (at most max_length tokens)."""
    tokenizer.enable_truncation(max_length)
    enc = tokenizer.encode_batch(list(texts))
    return torch.tensor([e.ids for e in enc]), torch.tensor([e.attention_mask for e in enc])


def embed_texts(model: BertEncoder, tokenizer, texts: list[str], gates: torch.Tensor | None = None,
                max_length: int = 128, batch_size: int = 16) -> torch.Tensor:
    """Sentence embeddings (N, D) of texts, in their order, computed in batches of similar length (each batch is
    padded only to its own longest text, so short texts do not pay for long ones)."""
    tokenizer.enable_truncation(max_length)
    lengths = [len(e.ids) for e in tokenizer.encode_batch(list(texts))]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    parts = [model.embed(*tokenize(tokenizer, [texts[i] for i in order[s:s + batch_size]], max_length), gates)
             for s in range(0, len(order), batch_size)]
    out = torch.cat(parts)  # (N, D) in length order
    return out[torch.argsort(torch.tensor(order))]
