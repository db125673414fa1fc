"""A BERT encoder written out (Devlin et al. 2019), loading the weights of all-MiniLM-L6-v2.

    h⁰ = LayerNorm(E_token[ids] + E_position[0..T−1] + E_segment[0])
    each layer l:   A = softmax(Q Kᵀ / √d_head + mask)            per head, Q = h W_q + b_q, ...   (B, H, T, T)
                    h = LayerNorm(h + (A V) W_o + b_o)                                          post-LN, as BERT
                    h = LayerNorm(h + GELU(h W_1 + b_1) W_2 + b_2)
    padding: keys at padded positions get −∞ (the dtype's minimum) before the softmax.

It returns the attention probabilities of every layer, which is what attention maps show, and the last hidden
states that sentence-transformers mean-pools into the sentence embedding. Written here so the interpret lab
can read attention without importing transformers (whose import costs seconds); tests/nn/test_bert_encoder.py
checks hidden states and attentions against transformers' BertModel on the same weights.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn


class BertEncoder(nn.Module):
    """Embeddings + L post-LayerNorm transformer layers, from a BERT state dict (HF parameter names)."""

    def __init__(self, state: dict[str, torch.Tensor], config: dict):
        super().__init__()
        self.n_layers, self.n_heads = config["num_hidden_layers"], config["num_attention_heads"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.w = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(v, requires_grad=False)
                                   for k, v in state.items() if not k.endswith("position_ids")})

    @classmethod
    def from_pretrained(cls, folder: Path) -> "BertEncoder":
        from safetensors.torch import load_file

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        state = {k.removeprefix("bert."): v for k, v in load_file(str(folder / "model.safetensors")).items()}
        return cls(state, config).eval()

    def _p(self, name: str) -> torch.Tensor:
        return self.w[name.replace(".", "__")]

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return nn.functional.linear(x, self._p(f"{name}.weight"), self._p(f"{name}.bias"))

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return nn.functional.layer_norm(x, x.shape[-1:], self._p(f"{name}.weight"), self._p(f"{name}.bias"), self.eps)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """input_ids (B, T) → (last hidden states (B, T, D), [attention probabilities (B, H, T, T)] per layer).

        inputs_embeds (B, T, D) replaces the token embeddings (for gradient attributions on embeddings)."""
        b, t = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones(b, t, dtype=torch.long)
        tok = self._p("embeddings.word_embeddings.weight")[input_ids] if inputs_embeds is None else inputs_embeds
        h = tok + self._p("embeddings.position_embeddings.weight")[:t] + self._p("embeddings.token_type_embeddings.weight")[0]
        h = self._norm(h, "embeddings.LayerNorm")
        d_head = h.shape[-1] // self.n_heads
        bias = torch.zeros(b, 1, 1, t, dtype=h.dtype).masked_fill(attention_mask[:, None, None, :] == 0, torch.finfo(h.dtype).min)
        attentions = []
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}"
            q, k, v = (self._linear(h, f"{p}.attention.self.{n}").view(b, t, self.n_heads, d_head).transpose(1, 2)
                       for n in ("query", "key", "value"))                                          # (B, H, T, d)
            a = (q @ k.transpose(-2, -1) / math.sqrt(d_head) + bias).softmax(-1)                 # (B, H, T, T)
            attentions.append(a)
            ctx = (a @ v).transpose(1, 2).reshape(b, t, -1)                                      # (B, T, D)
            h = self._norm(h + self._linear(ctx, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            ff = nn.functional.gelu(self._linear(h, f"{p}.intermediate.dense"))
            h = self._norm(h + self._linear(ff, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        return h, attentions


def load_tokenizer(folder: Path):
    """The fast WordPiece tokenizer from tokenizer.json (the `tokenizers` package; adds [CLS] ... [SEP])."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok
