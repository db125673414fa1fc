"""Recurrent language models: a vanilla (Elman) RNN and an LSTM, with their equations written out.

    RNN:   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)
    LSTM:  [i, f, g, o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh            (4 blocks of H rows, in this order)
           c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)        h_t = σ(o) ⊙ tanh(c_t)

Why the LSTM trains where the plain RNN struggles (Hochreiter & Schmidhuber 1997; Bengio et al. 1994): the RNN's
gradient through time is a product of Jacobians W_hhᵀ diag(1 − h²) that shrinks or blows up geometrically;
the LSTM's cell state is updated additively, gated by f, so ∂c_t/∂c_{t−1} = diag(σ(f)) can stay near 1 and
carry information over long spans.

`RecurrentLM` trains with PyTorch's fused nn.RNN / nn.LSTM kernels (a Python loop over time steps would be
several times slower); `rnn_forward` and `lstm_forward` compute the same layers from the equations above,
reading the fused modules' own weights, and tests/nn/test_recurrent.py checks outputs and gradients equal.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def rnn_forward(rnn: nn.RNN, x: torch.Tensor, h0: torch.Tensor | None = None):
    """x (B, T, D) through every layer of a tanh nn.RNN (batch_first) -> (outputs (B, T, H), h_T (L, B, H))."""
    finals = []
    for layer in range(rnn.num_layers):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
        b = getattr(rnn, f"bias_ih_l{layer}") + getattr(rnn, f"bias_hh_l{layer}")
        h = x.new_zeros(x.size(0), rnn.hidden_size) if h0 is None else h0[layer]
        outs = []
        for t in range(x.size(1)):
            h = torch.tanh(x[:, t] @ w_ih.T + h @ w_hh.T + b)
            outs.append(h)
        x = torch.stack(outs, 1)
        finals.append(h)
    return x, torch.stack(finals)


def lstm_forward(lstm: nn.LSTM, x: torch.Tensor, state=None):
    """x (B, T, D) through every layer of an nn.LSTM (batch_first) -> (outputs (B, T, H), (h_T, c_T))."""
    hs, cs = [], []
    for layer in range(lstm.num_layers):
        w_ih, w_hh = getattr(lstm, f"weight_ih_l{layer}"), getattr(lstm, f"weight_hh_l{layer}")
        b = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
        zeros = x.new_zeros(x.size(0), lstm.hidden_size)
        h, c = (zeros, zeros) if state is None else (state[0][layer], state[1][layer])
        outs = []
        for t in range(x.size(1)):
            i, f, g, o = (x[:, t] @ w_ih.T + h @ w_hh.T + b).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        x = torch.stack(outs, 1)
        hs.append(h)
        cs.append(c)
    return x, (torch.stack(hs), torch.stack(cs))


class RecurrentLM(nn.Module):
    """Character (or token) language model: embedding -> RNN or LSTM -> linear head over the vocabulary.
    Same call as nn.gpt.GPT: model(idx) -> logits (B, T, V); model(idx, targets) -> mean cross-entropy."""

    def __init__(self, vocab_size: int, d_emb: int, hidden: int, n_layers: int = 1, cell: str = "lstm"):
        super().__init__()
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"cell must be 'rnn' or 'lstm', not {cell!r}")
        self.cell = cell
        self.embed = nn.Embedding(vocab_size, d_emb)
        kind = nn.LSTM if cell == "lstm" else nn.RNN
        self.rnn = kind(d_emb, hidden, n_layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        h, _ = self.rnn(self.embed(idx))  # (B, T, H)
        logits = self.head(h)
        if targets is None:
            return logits
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())
